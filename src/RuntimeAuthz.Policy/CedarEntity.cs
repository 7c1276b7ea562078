namespace RuntimeAuthz.Policy;

/// <summary>One entity built by the host: its uid, attributes and tags (records) and direct parents.</summary>
public sealed class CedarEntity
{
    public CedarEntity(EntityUid uid, CedarValue attributes, IEnumerable<EntityUid> parents, CedarValue tags = default)
    {
        Uid = uid;
        Attributes = attributes.Inner is null ? CedarValue.EmptyRecord : attributes;
        AttributeRecord = Attributes.AsRecord($"the attributes of {uid}");
        TagRecord = tags.Inner is null ? RecordValue.Empty : tags.AsRecord($"the tags of {uid}");
        ParentSet = new HashSet<EntityValue>(parents.Select(p => new EntityValue(p)), EntityValueComparer.Instance);
    }

    internal CedarEntity(EntityUid uid, RecordValue attributes, RecordValue tags, IReadOnlyCollection<EntityValue> parents)
    {
        Uid = uid;
        Attributes = new(attributes);
        AttributeRecord = attributes;
        TagRecord = tags;
        ParentSet = parents;
    }

    public EntityUid Uid { get; }
    public CedarValue Attributes { get; }
    public CedarValue Tags => new(TagRecord);
    public IEnumerable<EntityUid> Parents => ParentSet.Select(p => p.Uid);

    internal RecordValue AttributeRecord { get; }
    internal RecordValue TagRecord { get; }
    internal IReadOnlyCollection<EntityValue> ParentSet { get; }

    /// <summary>The same entity with other attributes.</summary>
    public CedarEntity WithAttributes(CedarValue attributes) =>
        new(Uid, attributes.AsRecord($"the attributes of {Uid}"), TagRecord, ParentSet);

    /// <summary>Whether both say the same: uid, attributes, tags and parents (in any order).</summary>
    public bool SameAs(CedarEntity other) =>
        Uid == other.Uid && AttributeRecord.Equals(other.AttributeRecord) && TagRecord.Equals(other.TagRecord)
        && ParentSet.Count == other.ParentSet.Count && ParentSet.All(p => other.ParentSet.Contains(p, EntityValueComparer.Instance));
}
