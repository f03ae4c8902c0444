namespace Chat;

/// <summary>Makes unique, time-ordered 64-bit ids.</summary>
public interface IIdGenerator
{
    /// <summary>Returns a new id, greater than every id this instance returned before.</summary>
    /// <returns>The id.</returns>
    long NextId();
}
