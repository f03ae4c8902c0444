using Npgsql;

namespace Chat.Storage.Postgres;

/// <summary>Id-generator worker numbers leased from <c>chat.worker_leases</c>: a live lease is never handed out twice.</summary>
internal sealed class PostgresWorkerIdLeaseStore(PostgresDataSources dataSources) : IWorkerIdLeaseStore
{
    public async ValueTask<WorkerIdLease> AcquireAsync(string nodeName, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeName);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var token = Guid.NewGuid();

            // The lowest number with no lease, else the one that lapsed longest ago (the live nodes see to a lapsed
            // lease before it goes: ListLapsedAsync); a concurrent taker of the same number makes the upsert's WHERE
            // fail (its lease is live), and this node tries again.
            await using var command = dataSources.Primary.CreateCommand("""
                INSERT INTO chat.worker_leases (tenant_id, worker_id, node_name, token, expires_at)
                SELECT '*', w, $1, $2, now() + $3
                  FROM generate_series(0, 1023) AS w
                  LEFT JOIN chat.worker_leases l ON l.tenant_id = '*' AND l.worker_id = w
                 WHERE l.worker_id IS NULL OR l.expires_at <= now()
                 ORDER BY l.expires_at NULLS FIRST, w
                 LIMIT 1
                ON CONFLICT (tenant_id, worker_id) DO UPDATE
                   SET node_name = excluded.node_name, token = excluded.token, expires_at = excluded.expires_at
                 WHERE chat.worker_leases.expires_at <= now()
                RETURNING worker_id, expires_at
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = nodeName });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = token });
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = timeToLive });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return new WorkerIdLease(reader.GetInt32(0), token, reader.GetFieldValue<DateTimeOffset>(1));
            }

            if (!await AnyFreeAsync(cancellationToken).ConfigureAwait(false))
            {
                break;
            }
        }

        throw new ChatStorageException("No id-generator worker number is free: all 1,024 are leased by live nodes.");
    }

    public async ValueTask<bool> RenewAsync(WorkerIdLease lease, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await using var command = dataSources.Primary.CreateCommand(
            "UPDATE chat.worker_leases SET expires_at = now() + $3 WHERE tenant_id = '*' AND worker_id = $1 AND token = $2 AND expires_at > now()");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = lease.WorkerId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = lease.Token });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = timeToLive });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask ReleaseAsync(WorkerIdLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await using var command = dataSources.Primary.CreateCommand(
            "DELETE FROM chat.worker_leases WHERE tenant_id = '*' AND worker_id = $1 AND token = $2");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = lease.WorkerId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = lease.Token });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<WorkerIdLease>> ListLapsedAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSources.Primary.CreateCommand(
            "SELECT worker_id, token, expires_at FROM chat.worker_leases WHERE tenant_id = '*' AND expires_at <= now() ORDER BY expires_at, worker_id");
        var lapsed = new List<WorkerIdLease>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            lapsed.Add(new WorkerIdLease(reader.GetInt32(0), reader.GetGuid(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }

        return lapsed;
    }

    public async ValueTask<bool> ForgetLapsedAsync(WorkerIdLease lapsed, TimeSpan lapsedFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lapsed);
        ArgumentOutOfRangeException.ThrowIfLessThan(lapsedFor, TimeSpan.Zero);
        await using var command = dataSources.Primary.CreateCommand(
            "DELETE FROM chat.worker_leases WHERE tenant_id = '*' AND worker_id = $1 AND token = $2 AND expires_at <= now() - $3");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = lapsed.WorkerId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = lapsed.Token });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = lapsedFor });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private async Task<bool> AnyFreeAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSources.Primary.CreateCommand(
            "SELECT count(*) < 1024 FROM chat.worker_leases WHERE tenant_id = '*' AND expires_at > now()");
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
