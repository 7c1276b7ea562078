using RuntimeAuthz.Policy.Temporal;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests.Temporal;

public sealed class TemporalLanguageTests
{
    private const string Login = "App::Action::\"Login\"::request";
    private const string Transfer = "App::Action::\"Transfer\"::request";

    private static string Permit(string temporalBody) =>
        "permit ( principal, action == App::Action::\"Read\", resource )\nwhen temporal {\n    " + temporalBody + "\n};\n";

    private static CedarSyntaxException Rejects(string policy, EventSchema? events = null, CedarSchema? schema = null) =>
        Assert.Throws<CedarSyntaxException>(() => TemporalPolicySet.Parse(policy, "p.dw", events ?? EventSchema.DogwoodDefault, schema));

    [Fact]
    public void Cedar_files_still_reject_temporal_blocks_and_parse_as_before()
    {
        var error = Assert.Throws<CedarSyntaxException>(() => PolicySet.Parse(Permit($"formerly within 1h {Login}{{}}"), "p.cedar"));
        Assert.Equal((2, 6), (error.Line, error.Column));
        var plain = PolicySet.Parse("permit (principal, action, resource) when { context.x == 1 };");
        Assert.Single(plain.Policies);
        Assert.Empty(plain.Policies[0].TemporalBlocks);
    }

    [Fact]
    public void The_stateless_authorizer_denies_a_set_with_temporal_conditions()
    {
        var set = TemporalPolicySet.Parse("permit (principal, action, resource) unless temporal { formerly within 1h " + Login + "{} };", "p.dw", EventSchema.DogwoodDefault);
        var response = Authorizer.IsAuthorized(
            new AuthorizationRequest(new EntityUid("App::User", "a"), new EntityUid("App::Action", "Read"), new EntityUid("App::Doc", "d"), CedarContext.Empty),
            set.Policies, EntityStore.Empty);
        Assert.Equal(Decision.Deny, response.Decision);
        Assert.Contains(response.Errors, e => e.Kind == CedarErrorKind.Temporal);
    }

    [Theory]
    [InlineData("formerly within 1h " + Login + "{ input.user: u }", "WF-Closed", 3, 67)]
    [InlineData("exists (x: Long). (0 < x && x < 2)", "WF-Exists", 3, 5)]
    [InlineData("exists (x: String). !" + Login + "{ input.user: x }", "WF-Exists", 3, 5)]
    [InlineData("exists (a: Long). (a > 100 && formerly within 1h " + Transfer + "{ input.amount: a })", "WF-Demands", 3, 24)]
    [InlineData("exists (u: String). ((App::Action::\"Read\"::request{ input.user: u } since within 1h " + Login + "{ input.user: \"x\" }) && formerly within 1h " + Transfer + "{ input.user: u })", "WF-Demands", 3, 69)]
    [InlineData("exists (a: Long). (formerly within 1h " + Transfer + "{ input.amount: a } && exists (n: Long). ((sum a for (t: Timepoint). where (formerly within 1h (" + Transfer + "{ input.amount: a } && tp(t)))) == n && n > 1))", "WF-Agg-BoundVar-InDomain", 3, 118)]
    [InlineData("exists (n: Long). ((count for (t: Timepoint), (u: String). where formerly within 1h (" + Login + "{} && tp(t))) == n && n > 1)", "WF-Agg-Domain-Occurs", 3, 51)]
    [InlineData("exists (n: Long). ((count for (x: String). where (!(formerly within 1h " + Login + "{ input.user: x }))) == n && n > 0)", "WF-Agg-Domain-RR", 3, 35)]
    [InlineData("formerly within 1h " + Transfer + "{ input.amount: count for (t: Timepoint). where tp(t) }", "WF-Agg-Operand", 3, 72)]
    [InlineData("exists (n: Long). ((count for (t: Long). where formerly within 1h (" + Login + "{} && tp(t))) == n && n > 1)", "TEMP-Type-Tp", 3, 107)]
    [InlineData("formerly within 48h " + Login + "{}", "TEMP-MaxWindow", 3, 21)]
    [InlineData("formerly within 1h App::Action::\"Login\"::audit{}", "EVENT-Predicate-DeclaredEvent", 3, 24)]
    [InlineData("formerly within 1h " + Login + "{ nope: 1 }", "EVENT-Field-Absent", 3, 55)]
    [InlineData("formerly within 1h " + Login + "{ input: 1 }", "EVENT-Field-Group", 3, 55)]
    public void Acceptance_rules_reject_with_the_rule_name_and_position(string body, string rule, int line, int column)
    {
        var error = Rejects(Permit(body));
        Assert.Equal((CedarErrorKind.TemporalRule, rule, line, column), (error.Kind, error.Rule, error.Line, error.Column));
        // People read the rule in the message too.
        Assert.StartsWith($"p.dw:{line}:{column}: [{rule}]", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("formerly within 1h " + Login + "{} || formerly within 1h " + Login + "{}", 56)]
    [InlineData("formerly " + Login + "{}", 14)]
    [InlineData("formerly within 1 h " + Login + "{}", 23)]
    [InlineData("exists (x: String). !(x != \"a\")", 29)]
    [InlineData("formerly within 1h App::Action::\"Login\"{}", 44)]
    public void Syntax_errors_point_at_the_problem(string body, int column)
    {
        var error = Rejects(Permit(body));
        Assert.Equal((CedarErrorKind.UnexpectedToken, 3, column), (error.Kind, error.Line, error.Column));
    }

    [Fact]
    public void Hostile_nesting_fails_to_parse_instead_of_overflowing_the_stack()
    {
        var deep = new string('(', 5000) + Login + "{}" + new string(')', 5000);
        var error = Rejects(Permit("formerly within 1h " + deep));
        Assert.Equal(CedarErrorKind.TooDeep, error.Kind);
        var bangs = Rejects(Permit(new string('!', 5000) + Login + "{}"));
        Assert.Equal(CedarErrorKind.TooDeep, bangs.Kind);
    }

    [Fact]
    public void Accepted_shapes_from_the_guide_parse()
    {
        string[] accepted =
        [
            "exists (a: Long). (formerly within 1h " + Transfer + "{ input.amount: a } && a > 100)",
            "exists (u: String). (formerly within 1h " + Login + "{ input.user: u } && exists (n: Long). ((count for (t: Timepoint). where (formerly within 1h (" + Login + "{ input.user: u } && tp(t)))) == n && n >= 2))",
            "(count for (t: Timepoint). where (formerly within 1h (" + Login + "{ requestId: _ } && tp(t)))) < count for (t: Timepoint). where (formerly within 1h (" + Transfer + "{ requestId: * } && tp(t)))",
            "previous within 2h (" + Login + "{ input.user: context.input.user } && " + Login + "{ input.server: \"s1\" })",
            "formerly within 24h " + Login + "{ callerPrincipal: principal, callerResource: resource }{ input.user: context.input.user }",
        ];
        foreach (var body in accepted)
        {
            var set = TemporalPolicySet.Parse(Permit(body), "p.dw", EventSchema.DogwoodDefault);
            Assert.True(set.HasTemporalConditions);
        }
    }

    [Fact]
    public void Timepoint_dependence_is_checked_against_a_schema()
    {
        var policy = Permit("context.input.user == \"alice\"");
        Assert.True(TemporalPolicySet.Parse(policy, "p.dw", EventSchema.DogwoodDefault).HasTemporalConditions);
        var schema = CedarSchema.Parse("namespace App { entity User; entity Doc; action \"Read\", \"Login\" appliesTo { principal: User, resource: Doc, context: { input: { user: String } } }; }");
        var error = Rejects(policy, schema: schema);
        Assert.Equal((CedarErrorKind.TemporalRule, "WF-TpDep-Conjunct"), (error.Kind, error.Rule));
        var unknownAction = Rejects(Permit("formerly within 1h App::Action::\"Nope\"::request{}"), schema: schema);
        Assert.Equal((CedarErrorKind.TemporalRule, "EVENT-Predicate-DeclaredEvent"), (unknownAction.Kind, unknownAction.Rule));
    }

    [Fact]
    public void With_a_schema_input_fields_and_context_paths_must_be_declared()
    {
        var schema = CedarSchema.Parse("namespace App { entity User; entity Doc; action \"Read\", \"Login\" appliesTo { principal: User, resource: Doc, context: { input: { user: String, meta: { tag: String } } } }; }");
        Assert.True(TemporalPolicySet.Parse(Permit($"formerly within 1h {Login}{{ input.user: context.input.user, input.meta.tag: \"x\" }}"), "p.dw", EventSchema.DogwoodDefault, schema).HasTemporalConditions);
        var field = Rejects(Permit($"formerly within 1h {Login}{{ input.nope: 1 }}"), schema: schema);
        Assert.Equal((CedarErrorKind.TemporalRule, "EVENT-Field-Absent"), (field.Kind, field.Rule));
        var group = Rejects(Permit($"formerly within 1h {Login}{{ input.meta: 1 }}"), schema: schema);
        Assert.Equal((CedarErrorKind.TemporalRule, "EVENT-Field-Group"), (group.Kind, group.Rule));
        var context = Rejects(Permit($"formerly within 1h {Login}{{ input.user: context.input.nope }}"), schema: schema);
        Assert.Equal((CedarErrorKind.TemporalRule, "TEMP-ContextPath"), (context.Kind, context.Rule));
        Assert.Equal((3, 67), (context.Line, context.Column));
    }

    [Fact]
    public void The_cedar_validator_accepts_policies_with_temporal_blocks()
    {
        var schema = CedarSchema.Parse("namespace App { entity User; entity Doc; action \"Read\", \"Login\" appliesTo { principal: User, resource: Doc, context: { input: { user: String } } }; }");
        var set = TemporalPolicySet.Parse(
            "permit ( principal, action == App::Action::\"Read\", resource ) when { context.input.user == \"a\" && temporal { formerly within 1h " + Login + "{ input.user: context.input.user } } };",
            "p.dw", EventSchema.DogwoodDefault, schema);
        Assert.Empty(PolicyValidator.Validate(set.Policies, schema));
    }

    [Fact]
    public void Event_schemas_parse_decision_kinds_pins_and_the_window_cap()
    {
        var agentCore = EventSchema.AgentCore;
        Assert.Equal(["request"], agentCore.DecisionKinds);
        Assert.Equal(["request", "response", "error"], agentCore.KindNames);
        Assert.Equal(["sessionId"], agentCore.UniversalPins.Select(p => p.Path));
        var custom = EventSchema.Parse("max_window = 30d\ndecision event <A>::attempt { ...inputs(A), actor: principalType(A), meta: { pin sid: String = context.meta.sid } }\nevent <A>::outcome { ...outputs(A) }");
        Assert.Equal(30L * 86400 * 1000, custom.MaxWindowMilliseconds);
        Assert.True(custom.IsDecisionKind("attempt"));
        Assert.False(custom.IsDecisionKind("outcome"));
        Assert.Empty(custom.UniversalPins); // pinned on one kind only: a correlation, not a partition
    }

    [Theory]
    [InlineData("decision event <A>::r { pin x: String }", CedarErrorKind.InvalidPin, 1, 29)]
    [InlineData("decision event <A>::r { x: String = context.x }", CedarErrorKind.InvalidPin, 1, 35)]
    [InlineData("decision event <A>::r { ...principalType(A) }", CedarErrorKind.InvalidSelector, 1, 28)]
    [InlineData("decision event <A>::r { ...inputs(B) }", CedarErrorKind.InvalidSelector, 1, 35)]
    [InlineData("max_window = 0h\ndecision event <A>::r {}", CedarErrorKind.InvalidWindow, 1, 14)]
    [InlineData("decision event <A>::r {}\nmax_window = 1h", CedarErrorKind.MisplacedDeclaration, 2, 1)]
    [InlineData("event <A>::r {}", CedarErrorKind.MissingDecisionEvent, 1, 1)]
    [InlineData("// nothing\n", CedarErrorKind.MissingDecisionEvent, 1, 1)]
    [InlineData("decision event <A>::r { g: { a: String }, pin h: { b: String } }", CedarErrorKind.InvalidPin, 1, 47)]
    [InlineData("decision event <A>::r {}\nevent <A>::r {}", CedarErrorKind.DuplicateDeclaration, 2, 12)]
    [InlineData("decision event <A>::r { x: String, x: Long }", CedarErrorKind.DuplicateDeclaration, 1, 36)]
    [InlineData("decision event <A>::r { ...extras(A) }", CedarErrorKind.InvalidSelector, 1, 28)]
    [InlineData("decision event <A>::r { x String }", CedarErrorKind.UnexpectedToken, 1, 27)]
    [InlineData("max_window = 5x\ndecision event <A>::r {}", CedarErrorKind.InvalidWindow, 1, 15)]
    public void Event_schema_errors_have_kinds_and_positions(string text, CedarErrorKind kind, int line, int column)
    {
        var error = Assert.Throws<CedarSyntaxException>(() => EventSchema.Parse(text, "e.dwschema"));
        Assert.Equal(("e.dwschema", kind, line, column), (error.SourceName, error.Kind, error.Line, error.Column));
    }

    [Fact]
    public void Windows_above_the_schema_cap_are_rejected_and_equal_ones_accepted()
    {
        var schema = EventSchema.Parse("max_window = 1h\ndecision event <A>::request { ...inputs(A) }");
        Assert.True(TemporalPolicySet.Parse(Permit($"formerly within 60m {Login}{{}}"), "p.dw", schema).HasTemporalConditions);
        var error = Rejects(Permit($"formerly within 61m {Login}{{}}"), schema);
        Assert.Equal((CedarErrorKind.TemporalRule, "TEMP-MaxWindow", 3, 21), (error.Kind, error.Rule, error.Line, error.Column));
    }

    [Theory]
    [InlineData("@x App::Action::\"A\"::request()", 1, 2, CedarErrorKind.UnexpectedToken)]
    [InlineData("@1 App::Action::\"A\"::request(a: 1", 1, 34, CedarErrorKind.UnexpectedToken)]
    [InlineData("@1 App::Action::\"A\"::request(a: 1)\n\n@2 App::Action::\"A\"(a: 1)", 3, 20, CedarErrorKind.UnexpectedToken)]
    [InlineData("@1 App::Action::\"A\"::request(a: 1, a: 2)", 1, 36, CedarErrorKind.DuplicateKey)]
    [InlineData("@1 App::Action::\"A\"::request(a: \"open)", 1, 33, CedarErrorKind.UnterminatedString)]
    public void Malformed_traces_report_line_and_column(string trace, int line, int column, CedarErrorKind kind)
    {
        var set = TemporalPolicySet.Parse(Permit($"formerly within 1h {Login}{{}}"), "p.dw", EventSchema.DogwoodDefault);
        var error = Assert.Throws<CedarSyntaxException>(() => TemporalReplay.Run(set, trace, "t.log"));
        Assert.Equal(("t.log", kind, line, column), (error.SourceName, error.Kind, error.Line, error.Column));
    }

    [Fact]
    public void A_decision_event_without_a_principal_denies()
    {
        var set = TemporalPolicySet.Parse("permit (principal, action, resource);", "p.dw", EventSchema.DogwoodDefault);
        var lines = TemporalReplay.Run(set, "@0 App::Action::\"A\"::request(input: {})\n@1 scope(principal: App::U::\"a\", resource: App::R::\"r\") App::Action::\"A\"::request(input: {})");
        Assert.Equal(["@0 (time point 0): false", "@1 (time point 1): true"], lines);
    }

    [Fact]
    public void History_events_take_a_timepoint_but_print_no_line()
    {
        var set = TemporalPolicySet.Parse(Permit($"previous within 1h App::Action::\"Login\"::response{{}}"), "p.dw", EventSchema.DogwoodDefault);
        var trace = string.Join("\n",
            "@0 App::Action::\"Login\"::response(input: {})",
            "@1 scope(principal: App::U::\"a\", resource: App::R::\"r\") App::Action::\"Read\"::request(input: {})",
            "@2 scope(principal: App::U::\"a\", resource: App::R::\"r\") App::Action::\"Read\"::request(input: {})");
        Assert.Equal(["@1 (time point 1): true", "@2 (time point 2): false"], TemporalReplay.Run(set, trace));
    }
}
