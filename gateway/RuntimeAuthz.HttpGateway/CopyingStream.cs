namespace RuntimeAuthz.HttpGateway;

/// <summary>Passes writes through to the response and keeps a copy of the first <c>limit</c> bytes (no copy once it is exceeded).</summary>
internal sealed class CopyingStream(Stream inner, int limit) : Stream
{
    private MemoryStream? copy = new();

    /// <summary>The whole body, or null when it was larger than the limit.</summary>
    public byte[]? Copied => copy?.ToArray();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Keep(buffer);
        inner.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Keep(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        if (copy is null) return;
        if (copy.Length + bytes.Length > limit)
        {
            copy.Dispose();
            copy = null;
            return;
        }
        copy.Write(bytes);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) copy?.Dispose();
        base.Dispose(disposing);
    }
}
