namespace Chat.Storage.Sqlite;

/// <summary>Worker-number leases in the SQLite file (one node uses it, but the contract holds all the same).</summary>
internal sealed class SqliteWorkerIdLeaseStore(SqliteDatabase database) : IWorkerIdLeaseStore
{
    public async ValueTask<WorkerIdLease> AcquireAsync(string nodeName, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeName);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        return await database.WriteAsync((connection, transaction) =>
        {
            var now = database.NowMilliseconds();
            using var live = SqliteMessageStore.Command(connection, transaction,
                "SELECT worker_id FROM worker_leases WHERE tenant_id = '*' AND expires_at > $n ORDER BY worker_id", "$n");
            live.Parameters[0].Value = now;
            var taken = new HashSet<long>();
            using (var reader = live.ExecuteReader())
            {
                while (reader.Read())
                {
                    taken.Add(reader.GetInt64(0));
                }
            }

            var workerId = Enumerable.Range(0, 1024).FirstOrDefault(w => !taken.Contains(w), -1);
            if (workerId < 0)
            {
                throw new ChatStorageException("No id-generator worker number is free: all 1,024 are leased by live nodes.");
            }

            var token = Guid.NewGuid();
            var expires = now + (long)timeToLive.TotalMilliseconds;
            using var upsert = SqliteMessageStore.Command(connection, transaction, """
                INSERT INTO worker_leases (tenant_id, worker_id, node_name, token, expires_at) VALUES ('*', $w, $n, $t, $e)
                ON CONFLICT (tenant_id, worker_id) DO UPDATE SET node_name = excluded.node_name, token = excluded.token, expires_at = excluded.expires_at
                """, "$w", "$n", "$t", "$e");
            upsert.Parameters[0].Value = workerId;
            upsert.Parameters[1].Value = nodeName;
            upsert.Parameters[2].Value = token.ToString();
            upsert.Parameters[3].Value = expires;
            upsert.ExecuteNonQuery();
            return new WorkerIdLease(workerId, token, DateTimeOffset.FromUnixTimeMilliseconds(expires));
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> RenewAsync(WorkerIdLease lease, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return await database.WriteAsync((connection, transaction) =>
        {
            var now = database.NowMilliseconds();
            using var command = SqliteMessageStore.Command(connection, transaction,
                "UPDATE worker_leases SET expires_at = $e WHERE tenant_id = '*' AND worker_id = $w AND token = $t AND expires_at > $n", "$e", "$w", "$t", "$n");
            command.Parameters[0].Value = now + (long)timeToLive.TotalMilliseconds;
            command.Parameters[1].Value = lease.WorkerId;
            command.Parameters[2].Value = lease.Token.ToString();
            command.Parameters[3].Value = now;
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask ReleaseAsync(WorkerIdLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await database.WriteAsync((connection, transaction) =>
        {
            using var command = SqliteMessageStore.Command(connection, transaction,
                "DELETE FROM worker_leases WHERE tenant_id = '*' AND worker_id = $w AND token = $t", "$w", "$t");
            command.Parameters[0].Value = lease.WorkerId;
            command.Parameters[1].Value = lease.Token.ToString();
            return command.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
    }
}
