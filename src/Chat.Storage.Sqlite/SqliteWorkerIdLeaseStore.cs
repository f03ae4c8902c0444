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
            using var leased = SqliteMessageStore.Command(connection, transaction,
                "SELECT worker_id, expires_at FROM worker_leases WHERE tenant_id = '*'");
            var expiries = new Dictionary<long, long>();
            using (var reader = leased.ExecuteReader())
            {
                while (reader.Read())
                {
                    expiries[reader.GetInt64(0)] = reader.GetInt64(1);
                }
            }

            // The lowest number with no lease, else the one that lapsed longest ago (ListLapsedAsync).
            var workerId = Enumerable.Range(0, 1024).FirstOrDefault(w => !expiries.ContainsKey(w), -1);
            if (workerId < 0)
            {
                var lapsed = expiries.Where(e => e.Value <= now).OrderBy(e => e.Value).ThenBy(e => e.Key).Select(e => (int?)e.Key).FirstOrDefault();
                workerId = lapsed ?? throw new ChatStorageException("No id-generator worker number is free: all 1,024 are leased by live nodes.");
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

    public async ValueTask<IReadOnlyList<WorkerIdLease>> ListLapsedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT worker_id, token, expires_at FROM worker_leases WHERE tenant_id = '*' AND expires_at <= $n ORDER BY expires_at, worker_id";
        command.Parameters.AddWithValue("$n", database.NowMilliseconds());
        var lapsed = new List<WorkerIdLease>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            lapsed.Add(new WorkerIdLease(reader.GetInt32(0), Guid.Parse(reader.GetString(1)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        return lapsed;
    }

    public async ValueTask<bool> ForgetLapsedAsync(WorkerIdLease lapsed, TimeSpan lapsedFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lapsed);
        ArgumentOutOfRangeException.ThrowIfLessThan(lapsedFor, TimeSpan.Zero);
        return await database.WriteAsync((connection, transaction) =>
        {
            using var command = SqliteMessageStore.Command(connection, transaction,
                "DELETE FROM worker_leases WHERE tenant_id = '*' AND worker_id = $w AND token = $t AND expires_at <= $n", "$w", "$t", "$n");
            command.Parameters[0].Value = lapsed.WorkerId;
            command.Parameters[1].Value = lapsed.Token.ToString();
            command.Parameters[2].Value = database.NowMilliseconds() - (long)lapsedFor.TotalMilliseconds;
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken).ConfigureAwait(false);
    }
}
