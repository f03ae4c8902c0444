namespace Chat;

/// <summary>What a message's <see cref="ChatMessage.Content"/> holds.</summary>
public enum MessageKind
{
    /// <summary>Plain text.</summary>
    Text = 0,

    /// <summary>An image; the content is its URL or platform media id.</summary>
    Image = 1,

    /// <summary>A file; the content is its URL or platform media id.</summary>
    File = 2,

    /// <summary>A structured card (order, parcel, mini-program page); the content is JSON.</summary>
    Card = 3,

    /// <summary>A platform or lifecycle event (session entered, message recalled); the content describes it.</summary>
    Event = 4,
}
