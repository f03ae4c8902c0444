using Microsoft.Extensions.Options;

namespace Chat.Runtime;

/// <summary>Validates <see cref="ChatOptions"/> at start-up; messages name the setting.</summary>
[OptionsValidator]
internal sealed partial class ChatOptionsValidator : IValidateOptions<ChatOptions>
{
}
