using System.Security.Claims;
using Chat.Hub.Hubs;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Tests;

/// <summary>The node's index of which agent connections follow which conversations, on its own.</summary>
public sealed class ChatConnectionsTests
{
    [Fact]
    public void An_agent_connection_follows_a_bounded_number_of_conversations_the_oldest_stops_first_and_none_once_it_closes()
    {
        var connections = new ChatConnections();
        var connection = Open(connections, "c1");
        var other = Open(connections, "c2");
        for (long id = 1; id <= ChatConnections.MaxFollowed; id++)
        {
            Assert.Null(connections.Follow(connection, "t1", id));
        }

        Assert.Null(connections.Follow(other, "t1", 1));
        Assert.Equal([connection, other], connections.Followers("t1", 1));
        Assert.Empty(connections.Followers("t2", 1)); // another tenant's conversation 1

        Assert.Null(connections.Follow(connection, "t1", 1)); // followed again: the newest now
        Assert.Equal(2, connections.Follow(connection, "t1", 5000)); // one more than the bound: the oldest, 2, stops (the connection is told)
        Assert.Empty(connections.Followers("t1", 2));
        Assert.Equal([connection, other], connections.Followers("t1", 1));
        Assert.True(connections.Follows(connection, "t1", 5000));

        connections.Unfollow(connection, "t1", 1);
        Assert.Equal([other], connections.Followers("t1", 1));
        Assert.False(connections.Follows(connection, "t1", 1));

        connections.Remove("c1");
        Assert.Empty(connections.Followers("t1", 5000));
        Assert.Equal([other], connections.Followers("t1", 1));
        Assert.Null(connections.Follow(connection, "t1", 7)); // closed meanwhile: nothing kept
        Assert.Empty(connections.Followers("t1", 7));
    }

    private static ChatConnection Open(ChatConnections connections, string id)
    {
        var connection = new ChatConnection(10, 10) { Caller = new Context(id) };
        connections.Add(id, connection);
        return connection;
    }

    private sealed class Context(string id) : HubCallerContext
    {
        public override string ConnectionId => id;

        public override string? UserIdentifier => null;

        public override ClaimsPrincipal? User => null;

        public override IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override CancellationToken ConnectionAborted => CancellationToken.None;

        public override void Abort()
        {
        }
    }
}
