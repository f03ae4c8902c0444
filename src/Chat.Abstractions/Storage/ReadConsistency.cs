namespace Chat.Storage;

/// <summary>Where a read may be served from, when the store has read replicas.</summary>
public enum ReadConsistency
{
    /// <summary>From the primary: sees every write acknowledged before the read (resume after reconnect, reads after a send).</summary>
    Strong = 0,

    /// <summary>From a standby when one is configured: may lag the primary by a little (history browsing, lists).</summary>
    Relaxed = 1,
}
