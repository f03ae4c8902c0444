using System.Collections.Concurrent;
using System.Reflection;
using Chat.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>The host's real conversation store, with every call noted (method name and arguments) before it goes on, or fails when told to.</summary>
public class CountingConversationStore : DispatchProxy
{
    private IConversationStore _inner = null!;

    public ConcurrentQueue<(string Method, object?[] Arguments)> Calls { get; } = new();

    /// <summary>When set, a call of a method it names an exception for fails with that exception instead of going on.</summary>
    public Func<string, Exception?>? Fail { get; set; }

    /// <summary>Puts a counting proxy in front of the conversation store the storage registered.</summary>
    public static CountingConversationStore Around(IChatBuilder chat)
    {
        var proxy = Create<IConversationStore, CountingConversationStore>();
        var counting = (CountingConversationStore)(object)proxy;
        var registered = chat.Services.Last(d => d.ServiceType == typeof(IConversationStore));
        chat.Services.Remove(registered);
        chat.Services.AddSingleton(sp =>
        {
            counting._inner = (IConversationStore)ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!);
            return proxy;
        });
        return counting;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        Calls.Enqueue((targetMethod!.Name, args ?? []));
        if (Fail?.Invoke(targetMethod.Name) is { } failure)
        {
            throw failure;
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}
