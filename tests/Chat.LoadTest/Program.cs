using Chat.LoadTest;

// The project's load tool for the hub (see docs/benchmarks.md):
//   dotnet run -c Release --project tests/Chat.LoadTest -- run [--postgres "Host=..."] [--customers 1000] [--agents 2]
//        [--rate 0 (as fast as possible) | msg/s] [--seconds 10] [--warmup 5] [--warmup-max 60] [--warmup-until quiet|fixed] [--processes N] [--kinds bare,chat] [--protocol json|messagepack]
//        [--pretouch yes|no (a paced run's load processes touch their first generation before the traffic; default yes)]
//        [--rounds N (each hub N times, the order alternating, and the median of the rounds' ratios; default 1)]
//        [--via hub|webhook (customers as platform users whose messages arrive as signed pushes)]
//        [--analyze yes|no (ANALYZE the PostgreSQL database halfway through the warm-up, as autovacuum would have; default yes)]
//        [--redis host:port (the Chat hub as one node of several, with AddRedisBackplane)]
//        [--agent-capacity N (Chat agents online with N places each, the other conversations queued; default 0: agents away)]
//        [--agents-hear all|own (Chat agents hear every message, as the bare hub's group, or only their own conversations',
//         which needs --agent-capacity so that conversations are theirs; default all)]
// The warm-up lasts at least --warmup seconds and until every process's compilers are quiet (tiered compilation of the
// hot methods takes 10 to 20 s on two busy cores), at most --warmup-max; "--warmup-until fixed" makes it --warmup exactly.
// "serve" and "drive" are the processes "run" starts.
var command = args.Length > 0 ? args[0] : "run";
var rest = new Args(args.Length > 0 ? args[1..] : []);
return command switch
{
    "serve" => await Server.RunAsync(rest),
    "drive" => await Driver.RunAsync(rest),
    "run" => await Orchestrator.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Chat.LoadTest run|serve|drive [--name value ...]");
    return 2;
}
