namespace Chat;

/// <summary>Who wrote a message.</summary>
public enum SenderKind
{
    /// <summary>The shop's customer.</summary>
    Customer = 0,

    /// <summary>A human agent of the shop.</summary>
    Agent = 1,

    /// <summary>The framework itself (assignment, lifecycle notices).</summary>
    System = 2,

    /// <summary>An automated responder.</summary>
    Bot = 3,
}
