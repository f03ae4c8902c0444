using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Chat.Internal;
using Chat.Protocol;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Client;

/// <summary>
/// One hub connection with the delivery guarantee: messages reach the handler once each, in seq order per
/// conversation; a gap (a missed push, a reconnect) is filled from <c>Resume</c> before anything later is delivered.
/// </summary>
internal sealed class HubSession : IAsyncDisposable
{
    private const int PageSize = 200;
    private const int ListPageSize = 200;

    // How much further back than the last moment it heard the hub a client lists what changed: a message's time is when
    // its transaction began, which can be a moment before one stored and pushed earlier, and the clocks of the hub's
    // nodes and of its database may differ by a little.
    private static readonly TimeSpan ListSlack = TimeSpan.FromMinutes(1);

    // How long a client holds a message that came ahead of an earlier seq of its conversation, waiting for that one,
    // before it reads the gap from the history (HoldAhead).
    internal static readonly TimeSpan ReorderWindow = TimeSpan.FromMilliseconds(500);

    // The longest a customer's client holds such a message while its own sends are in flight (their answers may fill the
    // gap): a customer who keeps sends in flight all the time (quick messages on a slow node) would otherwise hold it for
    // as long as that lasts, and with it every later message of the conversation.
    internal static readonly TimeSpan CustomerHoldLimit = ReorderWindow * 6;

    // The longest a catch-up the hub asks for (ChatHubMethods.CatchUp) is put off, whatever the hub says.
    private const int MaxCatchUpSpreadMilliseconds = 60_000;

    // How the hub words a call refused for the connection's call rate (ChatHubFilter), and how long to wait then.
    private const string RateLimitRefusal = "Rate limit: ";
    private static readonly TimeSpan RateLimitPause = TimeSpan.FromMilliseconds(250);

    // One set of JSON options for every connection of the process: each set builds and keeps its own metadata (and
    // accessors it compiles) for every type it meets, so a set per connection costs a process that opens many of them
    // (a bot, a load tool) memory and compilation time per connection.
    private static readonly System.Text.Json.JsonSerializerOptions SharedJsonOptions = CreateJsonOptions();

    private readonly ChatClientOptions _options;
    private readonly Channel<Work> _work = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<long, long> _lastSeq = new();

    // The conversations a reconnect catches up, each with whether its Resume follows it (one the caller watches) or not
    // (one the connection hears anyway, its agent's own): a conversation unwatched keeps its last seq but leaves this.
    private readonly ConcurrentDictionary<long, bool> _caughtUp = new();
    private readonly bool _isAgent;

    // Messages that came ahead of an earlier seq of their conversation, by conversation, in seq order, with when their
    // current moment began (HoldAhead, Rehold) and when the conversation was first held (Since). The pump's only.
    private readonly Dictionary<long, (SortedList<long, ChatMessage> Messages, long HeldAt, long Since)> _ahead = [];
    private readonly ConcurrentDictionary<(long ConversationId, bool IsPrivate), ChatMessage> _templates = new();
    private readonly Func<ChatMessage, Task> _deliver;
    private readonly Func<Task> _caughtUpAll;
    private readonly Task _pump;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _catchUpAsked; // 1 while a catch-up the hub asked for waits for its moment
    private int _sendsInFlight; // the caller's sends whose stored copies the pump has not taken yet
    private long _askedLookBackTicks; // the longest look-back the hub asked for since the last asked catch-up went out

    // The newest moment (UTC ticks, by the hub's clocks) up to which the connection heard what the hub pushed: a pushed
    // message's time, a pushed conversation change's, or when a catch-up began once it has finished. Read when the
    // connection drops: whatever the client missed changed after it.
    private long _heardTicks;

    // _heardTicks as it was when the connection last dropped: the catch-up after the reconnect goes back to it.
    private long _droppedHeardTicks;

    // The earliest moment a catch-up that did not finish had to go back to (the pump's only), or long.MaxValue.
    private long _unfinishedSinceTicks = long.MaxValue;

    public HubSession(ChatClientOptions options, bool isAgent, Func<ChatMessage, Task> deliver, Func<Task> caughtUpAll)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _isAgent = isAgent;
        _deliver = deliver;
        _caughtUpAll = caughtUpAll;
        var builder = new HubConnectionBuilder()
            .WithUrl(options.HubUrl, http =>
            {
                http.AccessTokenProvider = options.AccessTokenProvider;
                options.ConfigureHttpConnection?.Invoke(http);
            })
            .WithAutomaticReconnect(new ForeverRetryPolicy());
        if (options.StatefulReconnect ?? isAgent)
        {
            builder.WithStatefulReconnect();
        }

        if (options.UseMessagePack)
        {
            builder.AddMessagePackProtocol();
        }
        else
        {
            builder.AddJsonProtocol(static o => o.PayloadSerializerOptions = SharedJsonOptions);
        }

        Connection = builder.Build();
        Connection.On<ChatMessage>(ChatHubMethods.MessageReceived, message =>
        {
            Heard(message.CreatedAt);
            _work.Writer.TryWrite(new Work(message));
        });
        Connection.On<ChatMessage[]>(ChatHubMethods.MessagesReceived, messages =>
        {
            foreach (var message in messages)
            {
                Heard(message.CreatedAt);
                _work.Writer.TryWrite(new Work(message));
            }
        });
        if (isAgent)
        {
            Connection.On<Conversation>(ChatHubMethods.ConversationChanged, OnConversationChanged);
        }

        Connection.On<int, int>(ChatHubMethods.CatchUp, OnCatchUpAsked);

        Connection.Reconnecting += _ =>
        {
            Volatile.Write(ref _droppedHeardTicks, Volatile.Read(ref _heardTicks));
            if (_connected.Task.IsCompleted)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return Task.CompletedTask;
        };
        Connection.Reconnected += _ =>
        {
            _connected.TrySetResult();
            _work.Writer.TryWrite(Work.CatchUpSince(Volatile.Read(ref _droppedHeardTicks)));
            return Task.CompletedTask;
        };
        _pump = Task.Run(PumpAsync);
    }

    public HubConnection Connection { get; }

    /// <summary>The agent as the hub sees it, once connected (null for a customer's session).</summary>
    public AgentSelf? Self { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await Connection.StartAsync(cancellationToken).ConfigureAwait(false);
        if (_isAgent)
        {
            Self = await Connection.InvokeAsync<AgentSelf>(ChatHubMethods.WhoAmI, cancellationToken).ConfigureAwait(false);
            Heard(Self.ServerTime);
        }

        _connected.TrySetResult();
    }

    /// <summary>Follows a conversation from a seq: everything after it is delivered, in order, now and after reconnects.</summary>
    public Task TrackAsync(long conversationId, long afterSeq)
    {
        _lastSeq.AddOrUpdate(conversationId, afterSeq, (_, known) => Math.Max(known, afterSeq));
        _caughtUp[conversationId] = true;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Writer.TryWrite(new Work(conversationId, done));
        return done.Task;
    }

    public long LastSeq(long conversationId) => _lastSeq.GetValueOrDefault(conversationId);

    /// <summary>
    /// Stops following a conversation: a reconnect no longer catches it up. Its last seq stays, so should the connection
    /// hear it again (given to the agent), what it has not delivered yet comes next, and nothing twice.
    /// </summary>
    public void Untrack(long conversationId) => _caughtUp.TryRemove(conversationId, out _);

    /// <summary>
    /// Sends a message and delivers the stored copy (the hub does not push it back to its sender): from the answer, or
    /// rebuilt from the request and the conversation's template when the answer leaves it out.
    /// </summary>
    public Task<SendResult> SendAsync(SendRequest request, CancellationToken cancellationToken)
    {
        // Counted until the pump takes what the answer queued for it (Work.EndsSend), not only until the answer came: a
        // later send's copy taken first must still see this one coming, and this one's own gap (a private note before
        // it) is read at once.
        Interlocked.Increment(ref _sendsInFlight);
        return SendCoreAsync(request, cancellationToken);
    }

    private async Task<SendResult> SendCoreAsync(SendRequest request, CancellationToken cancellationToken)
    {
        SendResult result;
        try
        {
            result = await InvokeWithRetryAsync<SendResult>(ChatHubMethods.Send, [request], cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _sendsInFlight); // nothing queued
            throw;
        }

        var key = (request.ConversationId, request.IsPrivate);
        if (result.Message is { } stored)
        {
            if (result.IsTemplate)
            {
                _templates[key] = stored;
            }

            _work.Writer.TryWrite(new Work(stored) { EndsSend = true });
        }
        else if (_templates.TryGetValue(key, out var template))
        {
            _work.Writer.TryWrite(new Work(template with
            {
                Id = result.Id,
                Seq = result.Seq,
                CreatedAt = result.CreatedAt,
                Kind = request.Kind,
                Content = request.Content,
                ClientMessageId = request.ClientMessageId,
            }) { EndsSend = true });
        }
        else
        {
            // The template's answer was lost with a connection, or a parallel send's answer overtook it: the message
            // comes from the conversation's history instead.
            _work.Writer.TryWrite(new Work(request.ConversationId, null) { EndsSend = true });
        }

        return result;
    }

    /// <summary>
    /// Invokes a hub method, retrying through lost connections, and after a pause when the hub refused it for the
    /// connection's call rate (it was not run, and its message says to slow down and retry), until
    /// <see cref="ChatClientOptions.SendTimeout"/>; any other refusal by the hub (<see cref="HubException"/>) is not
    /// retried, and a call still refused for its rate at the deadline fails with that refusal.
    /// </summary>
    public async Task<T> InvokeWithRetryAsync<T>(string method, object?[] args, CancellationToken cancellationToken)
    {
        // The usual case, connected and answered, costs no timer: the deadline is only set up once a try has failed.
        HubException? refused = null;
        if (_connected.Task.IsCompletedSuccessfully)
        {
            try
            {
                return (T)(await Connection.InvokeCoreAsync(method, typeof(T), args, cancellationToken).ConfigureAwait(false))!;
            }
            catch (Exception ex) when (IsConnectionLoss(ex, cancellationToken))
            {
            }
            catch (HubException ex) when (IsRateRefusal(ex))
            {
                refused = ex;
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.SendTimeout);
        try
        {
            while (true)
            {
                if (refused is not null)
                {
                    await Task.Delay(RateLimitPause, timeout.Token).ConfigureAwait(false);
                    refused = null; // from here a deadline means the outcome is unknown, not refused
                }

                try
                {
                    await _connected.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
                    return (T)(await Connection.InvokeCoreAsync(method, typeof(T), args, timeout.Token).ConfigureAwait(false))!;
                }
                catch (Exception ex) when (IsConnectionLoss(ex, timeout.Token))
                {
                    // The connection went away before the answer came: the call may or may not have been stored, and the
                    // same arguments (same client message id) are safe to send again.
                    await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token).ConfigureAwait(false);
                }
                catch (HubException ex) when (IsRateRefusal(ex))
                {
                    refused = ex;
                }
            }
        }
        catch (OperationCanceledException) when (refused is not null && !cancellationToken.IsCancellationRequested)
        {
            throw refused;
        }
    }

    /// <summary>The hub refused a call for the connection's call rate, before running it (<c>ChatHubFilter</c>).</summary>
    private static bool IsRateRefusal(HubException ex) => ex.Message.Contains(RateLimitRefusal, StringComparison.Ordinal);

    /// <summary>A failure that a retry on the same or a new connection may cure; a refusal by the hub (<see cref="HubException"/>) is not one.</summary>
    private static bool IsConnectionLoss(Exception ex, CancellationToken token) =>
        ex is not HubException
        && (ex is IOException or InvalidOperationException or System.Net.WebSockets.WebSocketException
            or System.Net.Http.HttpRequestException // a transport's reconnect (stateful reconnect) that failed closes the calls with it
            || (ex is TaskCanceledException && !token.IsCancellationRequested));

    public async ValueTask DisposeAsync()
    {
        _work.Writer.TryComplete();
        await Connection.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _pump.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PumpAsync()
    {
        await foreach (var work in _work.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (work.EndsSend)
            {
                Interlocked.Decrement(ref _sendsInFlight); // taken: only the sends behind it are still to come
            }

            try
            {
                if (work.Message is { } message)
                {
                    await OnMessageAsync(message).ConfigureAwait(false);
                }
                else if (work.GapCheck)
                {
                    await CheckGapAsync(work.ConversationId, work.HeldAt).ConfigureAwait(false);
                }
                else if (work.CatchUpAllConversations)
                {
                    await CatchUpAllAsync(work).ConfigureAwait(false);
                    await _caughtUpAll().ConfigureAwait(false);
                }
                else
                {
                    await CatchUpAsync(work.ConversationId).ConfigureAwait(false);
                    work.Done?.TrySetResult();
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || Connection.State != HubConnectionState.Disconnected)
            {
                // The connection broke during a catch-up; the reconnect queues another one.
                work.Done?.TrySetException(ex);
            }
        }
    }

    /// <summary>
    /// A conversation given to the agent (assigned, transferred to it, reopened with it) with messages the client has
    /// not delivered comes whole at once, not only when its customer writes next: a transferred customer may be waiting
    /// for an answer. Read without following, as the connection hears it anyway.
    /// </summary>
    private void OnConversationChanged(Conversation conversation)
    {
        Heard(conversation.UpdatedAt);
        if (!_options.CatchUpNewConversations || Self is not { } self || conversation.AssigneeId != self.AgentId || conversation.TenantId != self.TenantId
            || conversation.Status is not (ConversationStatus.Open or ConversationStatus.Pending)
            || conversation.LastSeq <= _lastSeq.GetValueOrDefault(conversation.Id))
        {
            return;
        }

        _caughtUp.TryAdd(conversation.Id, false);
        _work.Writer.TryWrite(new Work(conversation.Id, null));
    }

    /// <summary>
    /// The hub says pushes may have been lost between its nodes: everything is caught up as after a reconnect, at a
    /// random moment within the time it gives (so a node's clients do not all read at once), going back as far as the
    /// hub says pushes may have been lost from, and the wait. Asked again before that, the one catch-up covers both,
    /// from the earlier loss.
    /// </summary>
    private void OnCatchUpAsked(int withinMilliseconds, int lostSinceMilliseconds)
    {
        AtomicMax.Raise(ref _askedLookBackTicks, TimeSpan.FromMilliseconds(Math.Max(0, lostSinceMilliseconds)).Ticks);

        if (Interlocked.Exchange(ref _catchUpAsked, 1) == 1)
        {
            return;
        }

        var askedAt = Stopwatch.GetTimestamp();
        var wait = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * Math.Clamp(withinMilliseconds, 0, MaxCatchUpSpreadMilliseconds));
        _ = Task.Delay(wait).ContinueWith(_ =>
        {
            Volatile.Write(ref _catchUpAsked, 0);
            var lookBack = TimeSpan.FromTicks(Interlocked.Exchange(ref _askedLookBackTicks, 0)) + Stopwatch.GetElapsedTime(askedAt);
            _work.Writer.TryWrite(Work.CatchUpLookingBack(lookBack));
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>Moves the moment up to which the connection heard the hub forward (never back).</summary>
    private void Heard(DateTimeOffset at) => AtomicMax.Raise(ref _heardTicks, at.UtcTicks);

    private async Task OnMessageAsync(ChatMessage message)
    {
        var conversationId = message.ConversationId;
        if (!_caughtUp.ContainsKey(conversationId))
        {
            if (!_isAgent)
            {
                // A push that overtook StartConversationAsync's own catch-up, which delivers it from the history next.
                return;
            }

            // A conversation the connection hears without having watched it: one given to the agent (assigned,
            // transferred, mid-way or while the connection was down), or any where the agent hears the whole tenant.
            // The connection hears it anyway, so its catch-ups (now and after reconnects) need not follow it.
            _caughtUp.TryAdd(conversationId, false);
            if (!_lastSeq.ContainsKey(conversationId) && (message.Seq == 1 || !_options.CatchUpNewConversations))
            {
                _lastSeq[conversationId] = message.Seq;
                await _deliver(message).ConfigureAwait(false);
                return;
            }
        }

        var last = _lastSeq.GetValueOrDefault(conversationId);
        if (message.Seq <= last)
        {
            return; // already delivered
        }

        if (message.Seq == last + 1)
        {
            _lastSeq[conversationId] = message.Seq;
            await _deliver(message).ConfigureAwait(false);
            await DeliverHeldAsync(conversationId).ConfigureAwait(false);
            return;
        }

        if (_isAgent || Volatile.Read(ref _sendsInFlight) > 0)
        {
            // An agent's gap is a push that is late or lost; a customer's, while its own sends are in flight, may be
            // one of their answers, queued for the pump behind a later one (their calls resume in any order).
            HoldAhead(message);
            return;
        }

        // A customer's gap with nothing of its own in flight: mostly private notes, which Resume skips, so there is
        // nothing to wait for.
        await CatchUpAsync(conversationId).ConfigureAwait(false);
    }

    /// <summary>
    /// A message that came ahead of an earlier seq of its conversation (or an agent's of a conversation heard for the
    /// first time mid-way) is held for a moment (<see cref="ReorderWindow"/>): pushes of one conversation stored close
    /// together can reach the agent's feed out of order (their senders' calls resume in any order, and with several nodes
    /// each node publishes its own), and a customer's own sends answered together are queued for the pump in any order;
    /// the earlier one is then only late. It is delivered as soon as what lies before it has been; what is still missing
    /// when the moment has passed (for a customer, once none of its sends is in flight or it has held them for
    /// <see cref="CustomerHoldLimit"/>) is read from the history.
    /// Reading at once would cost a call per inverted pair and hold up every other conversation's messages behind it (one
    /// pump delivers them all): a busy node that fell behind would turn its own delays into a storm of history reads.
    /// </summary>
    private void HoldAhead(ChatMessage message)
    {
        var conversationId = message.ConversationId;
        if (!_ahead.TryGetValue(conversationId, out var held))
        {
            held = Hold(conversationId, [], Stopwatch.GetTimestamp());
        }

        held.Messages.TryAdd(message.Seq, message);
    }

    /// <summary>Holds a conversation's messages for a moment from now; the gap is checked when it has passed.</summary>
    private (SortedList<long, ChatMessage> Messages, long HeldAt, long Since) Hold(long conversationId, SortedList<long, ChatMessage> messages, long since)
    {
        var held = (Messages: messages, HeldAt: Stopwatch.GetTimestamp(), Since: since);
        _ahead[conversationId] = held;
        _ = Task.Delay(ReorderWindow).ContinueWith(
            static (_, state) =>
            {
                var (session, id, heldAt) = ((HubSession, long, long))state!;
                session._work.Writer.TryWrite(Work.CheckGap(id, heldAt));
            },
            (this, conversationId, held.HeldAt), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return held;
    }

    /// <summary>
    /// The moment held messages waited for has passed (those held at <paramref name="heldAt"/>, not any held since): what
    /// is still missing before them is read from the history (a customer's, once none of its sends is in flight or the
    /// conversation has been held for <see cref="CustomerHoldLimit"/>; its own answers then find their messages
    /// delivered). A read that fails (the connection dropped) is tried again after another moment, unless the
    /// reconnect's catch-up delivers them first.
    /// </summary>
    private async Task CheckGapAsync(long conversationId, long heldAt)
    {
        if (!_ahead.TryGetValue(conversationId, out var held) || held.HeldAt != heldAt)
        {
            return;
        }

        if (!_isAgent && Volatile.Read(ref _sendsInFlight) > 0 && Stopwatch.GetElapsedTime(held.Since) < CustomerHoldLimit)
        {
            Rehold(conversationId); // the customer's own answers may fill it yet
            return;
        }

        try
        {
            await CatchUpAsync(conversationId).ConfigureAwait(false); // delivers what it holds
        }
        catch
        {
            Rehold(conversationId);
            throw;
        }
    }

    /// <summary>A conversation's held messages wait another moment, from now (a customer's counted from when it was first held).</summary>
    private void Rehold(long conversationId)
    {
        if (!_ahead.TryGetValue(conversationId, out var held))
        {
            return;
        }

        if (held.Messages.Count == 0)
        {
            _ahead.Remove(conversationId); // all delivered or dropped: nothing waits
        }
        else
        {
            Hold(conversationId, held.Messages, held.Since);
        }
    }

    /// <summary>
    /// Delivers the held messages of a conversation that now follow on from its last seq, and drops those it has; what is
    /// still held behind a gap waits its moment again, from now. A handler that throws leaves the rest held, still due.
    /// </summary>
    private async Task DeliverHeldAsync(long conversationId)
    {
        while (_ahead.TryGetValue(conversationId, out var held))
        {
            var messages = held.Messages;
            var last = _lastSeq.GetValueOrDefault(conversationId);
            while (messages.Count > 0 && messages.Keys[0] <= last)
            {
                messages.RemoveAt(0);
            }

            if (messages.Count == 0 || messages.Keys[0] != last + 1)
            {
                Rehold(conversationId);
                return;
            }

            var next = messages.Values[0];
            messages.RemoveAt(0);
            _lastSeq[conversationId] = next.Seq;
            await _deliver(next).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After a reconnect, or when the hub asks (it lost pushes between its nodes): every conversation the caller watches
    /// (a customer's own), resumed on the connection. An agent's client then lists its agent's conversations (and, when
    /// its connection hears the whole tenant, a supervisor's or every agent's where the hub is set so, the tenant's),
    /// newest activity first, page by page back to a minute before the last moment it heard the hub before the drop
    /// (or as far back as the hub says pushes were lost), and catches up those with messages it has not delivered, those
    /// given to the agent while the connection was down included. It does not resume every conversation it ever heard:
    /// an agent hears hundreds a day, a supervisor thousands, a node restarting at a peak reconnects all its agents at
    /// once, and each call counts against the connection's call rate; one that changed before the drop lost nothing
    /// then (a push lost earlier on a live connection shows as a gap with the conversation's next message). One it
    /// heard that is no longer its agent's is not read again. A catch-up cut short (the connection dropped again) is
    /// made up by the next one, which goes back as far as the two of them.
    /// </summary>
    private async Task CatchUpAllAsync(Work work)
    {
        if (!_isAgent)
        {
            foreach (var conversationId in _caughtUp.Keys)
            {
                await CatchUpAsync(conversationId).ConfigureAwait(false);
            }

            return;
        }

        var sinceTicks = Math.Min(_unfinishedSinceTicks, work.SinceTicks);
        try
        {
            var self = await CallPacedAsync<AgentSelf>(ChatHubMethods.WhoAmI, []).ConfigureAwait(false);
            Self = self;
            if (work.LookBack is { } lookBack)
            {
                sinceTicks = Math.Min(sinceTicks, (self.ServerTime - lookBack).UtcTicks);
            }

            var since = new DateTimeOffset(Math.Clamp(sinceTicks, DateTimeOffset.MinValue.UtcTicks + ListSlack.Ticks, DateTimeOffset.MaxValue.UtcTicks), TimeSpan.Zero) - ListSlack;
            foreach (var (conversationId, follow) in _caughtUp)
            {
                if (follow)
                {
                    await CatchUpAsync(conversationId).ConfigureAwait(false);
                }
            }

            var listed = new HashSet<long>();
            await CatchUpListedAsync(mine: true, since, listed).ConfigureAwait(false);
            if (self.HearsEveryConversation)
            {
                await CatchUpListedAsync(mine: false, since, listed).ConfigureAwait(false);
            }
            else
            {
                foreach (var (conversationId, follow) in _caughtUp)
                {
                    if (!follow && !listed.Contains(conversationId))
                    {
                        _caughtUp.TryRemove(conversationId, out _);
                    }
                }
            }

            _unfinishedSinceTicks = long.MaxValue;
            Heard(self.ServerTime);
        }
        catch
        {
            _unfinishedSinceTicks = sinceTicks;
            throw;
        }
    }

    /// <summary>
    /// Catches up the listed conversations (the agent's own, or the tenant's) that changed since a moment, with
    /// messages the client has not delivered: of the agent's own, those it never heard too (given to it while the
    /// connection was down); of the tenant's, only those it heard (the others come with their next message, as they
    /// would have live).
    /// </summary>
    private async Task CatchUpListedAsync(bool mine, DateTimeOffset since, HashSet<long> listed)
    {
        ConversationCursor? after = null;
        while (true)
        {
            var conversations = await CallPacedAsync<IReadOnlyList<Conversation>>(ChatHubMethods.ListConversationsPage,
                [new ConversationListRequest { Mine = mine, Limit = ListPageSize, After = after }]).ConfigureAwait(false);
            foreach (var conversation in conversations)
            {
                if (!listed.Add(conversation.Id) || (_caughtUp.TryGetValue(conversation.Id, out var follow) && follow))
                {
                    continue; // seen in the agent's own list, or watched and resumed already
                }

                var known = _lastSeq.TryGetValue(conversation.Id, out var last);
                if (!known && (!mine || !_options.CatchUpNewConversations))
                {
                    continue; // it starts at its next pushed message
                }

                _caughtUp[conversation.Id] = false;
                if (conversation.LastSeq > last)
                {
                    await CatchUpAsync(conversation.Id).ConfigureAwait(false);
                }
            }

            if (conversations.Count < ListPageSize || conversations[^1].UpdatedAt < since)
            {
                return;
            }

            after = ConversationCursor.After(conversations[^1]);
        }
    }

    private async Task CatchUpAsync(long conversationId)
    {
        while (true)
        {
            var after = _lastSeq.GetValueOrDefault(conversationId);
            var follow = _caughtUp.GetValueOrDefault(conversationId); // watched; not once unwatched meanwhile
            var page = await CallPacedAsync<MessagePage>(ChatHubMethods.Resume,
                [new ResumeRequest { ConversationId = conversationId, AfterSeq = after, Limit = PageSize, Follow = follow }]).ConfigureAwait(false);
            foreach (var message in page.Messages)
            {
                if (message.Seq > _lastSeq.GetValueOrDefault(conversationId))
                {
                    _lastSeq[conversationId] = message.Seq;
                    await _deliver(message).ConfigureAwait(false);
                }
            }

            if (page.NextAfterSeq > _lastSeq.GetValueOrDefault(conversationId))
            {
                _lastSeq[conversationId] = page.NextAfterSeq; // skipped private notes
            }

            if (!page.HasMore)
            {
                // Messages held for this conversation are now delivered, or dropped as read: a catch-up reads to the end.
                await DeliverHeldAsync(conversationId).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>
    /// A call of the client's own (a catch-up) that the hub refused for the connection's call rate is made again after
    /// a pause: a reconnect or a burst of newly heard conversations can need more catch-ups than a connection may make
    /// at once, and a catch-up given up would leave its messages undelivered until the conversation's next one. Any
    /// other failure goes to the caller (a lost connection: the reconnect catches up again).
    /// </summary>
    private async Task<T> CallPacedAsync<T>(string method, object?[] args)
    {
        while (true)
        {
            try
            {
                return await Connection.InvokeCoreAsync<T>(method, args).ConfigureAwait(false);
            }
            catch (HubException ex) when (IsRateRefusal(ex))
            {
                await Task.Delay(RateLimitPause).ConfigureAwait(false);
            }
        }
    }

    private static System.Text.Json.JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonHubProtocolOptions().PayloadSerializerOptions; // SignalR's defaults, a fresh set
        ChatJson.Apply(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private sealed class Work
    {

        public Work(ChatMessage message) => Message = message;

        public Work(long conversationId, TaskCompletionSource? done) => (ConversationId, Done) = (conversationId, done);

        private Work()
        {
        }

        public ChatMessage? Message { get; }

        /// <summary>What a send's answer queued: the send stops counting as in flight once the pump has taken it.</summary>
        public bool EndsSend { get; init; }

        public long ConversationId { get; private init; }

        public TaskCompletionSource? Done { get; }

        public bool CatchUpAllConversations { get; private init; }

        /// <summary>A full catch-up's start (UTC ticks): an agent's lists go back to what changed from then on.</summary>
        public long SinceTicks { get; private init; } = long.MaxValue;

        /// <summary>A full catch-up the hub asked for: how far before the hub's clock now pushes may have been lost.</summary>
        public TimeSpan? LookBack { get; private init; }

        /// <summary>A conversation's held messages have waited their moment (<see cref="HoldAhead"/>).</summary>
        public bool GapCheck { get; private init; }

        /// <summary>A gap check's: when (a timestamp) the messages it is for were held.</summary>
        public long HeldAt { get; private init; }

        /// <summary>Checks whether what a conversation's messages held at a moment (a timestamp) wait for has come.</summary>
        public static Work CheckGap(long conversationId, long heldAt) => new() { ConversationId = conversationId, GapCheck = true, HeldAt = heldAt };

        /// <summary>A full catch-up after a reconnect, of what changed since the connection last heard the hub.</summary>
        public static Work CatchUpSince(long heardTicks) => new() { CatchUpAllConversations = true, SinceTicks = heardTicks };

        /// <summary>A full catch-up the hub asked for.</summary>
        public static Work CatchUpLookingBack(TimeSpan lookBack) => new() { CatchUpAllConversations = true, LookBack = lookBack };
    }

    /// <summary>
    /// Reconnects forever, each wait drawn at random: the first within 500 ms (a blip is over quickly), then between half
    /// and all of a bound that doubles from 1 s up to 5 s. When a node goes down at a peak, its tens of thousands of
    /// clients lose their connections at the same moment; fixed delays would bring them all back at the same moments
    /// too, a wave of connects and catch-ups on the nodes left, again on every retry while it is away.
    /// </summary>
    internal sealed class ForeverRetryPolicy : IRetryPolicy
    {
        private static readonly TimeSpan FirstWithin = TimeSpan.FromMilliseconds(500);
        private static readonly TimeSpan Longest = TimeSpan.FromSeconds(5);

        public TimeSpan? NextRetryDelay(RetryContext retryContext)
        {
            if (retryContext.PreviousRetryCount == 0)
            {
                return FirstWithin * Random.Shared.NextDouble();
            }

            var bound = TimeSpan.FromSeconds(Math.Min(Longest.TotalSeconds, Math.Pow(2, Math.Min(retryContext.PreviousRetryCount - 1, 10))));
            return bound * (0.5 + (0.5 * Random.Shared.NextDouble()));
        }
    }
}
