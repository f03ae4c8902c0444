namespace Chat.Storage;

/// <summary>
/// A store could not do what it was asked: the database is unreachable, a write failed, or a referenced record does not
/// exist. A failed append was not acknowledged; retrying it with the same client or platform message id is safe.
/// </summary>
public class ChatStorageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ChatStorageException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public ChatStorageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ChatStorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
