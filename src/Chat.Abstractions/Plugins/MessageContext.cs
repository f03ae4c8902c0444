namespace Chat.Plugins;

/// <summary>What a plugin sees of one message on its way through the pipeline.</summary>
/// <remarks>
/// One context lives for one pass of the pipeline and is not shared between threads at the same time:
/// plugins run one after another.
/// </remarks>
public sealed class MessageContext
{
    private Dictionary<string, object?>? _properties;
    private ChatMessage _message;

    /// <summary>Creates the context for one pass of the pipeline.</summary>
    /// <param name="message">The message.</param>
    /// <param name="conversation">The conversation the message belongs to.</param>
    /// <exception cref="ArgumentNullException">A parameter is null.</exception>
    public MessageContext(ChatMessage message, Conversation conversation)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(conversation);
        _message = message;
        Conversation = conversation;
    }

    /// <summary>The message. A plugin may replace it with a changed copy (<c>context.Message = context.Message with { ... }</c>).</summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    public ChatMessage Message
    {
        get => _message;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _message = value;
        }
    }

    /// <summary>
    /// The conversation the message belongs to, as the host knew it when the message arrived: its id, channel and
    /// contact are fixed; its status, assignee and team are as of its last change that reached the node (with several
    /// nodes, a change made on another node reaches it through Redis; while Redis is unreachable, a platform user's
    /// conversation may be up to two minutes old).
    /// </summary>
    public Conversation Conversation { get; }

    /// <summary>Which way the message travels.</summary>
    public MessageDirection Direction => _message.Direction;

    /// <summary>A bag for plugins to pass values to later plugins and to the host (order cards, scores, flags).</summary>
    public IDictionary<string, object?> Properties => _properties ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>Whether any plugin has put anything in <see cref="Properties"/>, without creating the bag.</summary>
    public bool HasProperties => _properties is { Count: > 0 };

    /// <summary>True once a plugin called <see cref="Stop"/> or <see cref="Reject"/>: no later plugin runs.</summary>
    public bool IsStopped { get; private set; }

    /// <summary>True once a plugin rejected the message: it is not stored or delivered, and the sender gets <see cref="RejectionReason"/>.</summary>
    public bool IsRejected => RejectionReason is not null;

    /// <summary>Why the message was rejected, or null.</summary>
    public string? RejectionReason { get; private set; }

    /// <summary>The id of the plugin that stopped or rejected the message, set by the runtime.</summary>
    public string? StoppedBy { get; set; }

    /// <summary>Ends the pipeline for this message: no later plugin runs, and the message goes on to be stored.</summary>
    public void Stop() => IsStopped = true;

    /// <summary>Rejects the message: no later plugin runs, nothing is stored, and the sender is told the reason.</summary>
    /// <param name="reason">The reason given to the sender; not empty.</param>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is null, empty or white space.</exception>
    public void Reject(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        RejectionReason = reason;
        IsStopped = true;
    }
}
