using Chat.Storage;

namespace Chat.Hub.Services;

/// <summary>A stored send: the store's result, and whether the pipeline left the message as the caller sent it.</summary>
internal readonly record struct StoredSend(AppendResult Result, bool AsSent);
