using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>The shape the code keeps (CONTRIBUTING.md), read from the sources: models, training, report and CLI reach a
/// backend only through IBackend and the capability interfaces, and ask the registry what a model is.</summary>
public class ArchitectureTests
{
    static IEnumerable<(string Path, string Text)> Sources(params string[] folders) =>
        folders.SelectMany(f => Directory.EnumerateFiles(Path.Combine(Repository.Root, "src", f), "*.cs", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(p => (Path.GetRelativePath(Repository.Root, p), File.ReadAllText(p)));

    [Fact]
    public void OnlyTheOpenerNamesTheIlgpuBackend()
    {
        var offenders = Sources("Nets", "Cli").Where(s => s.Text.Contains("IlgpuBackend") && !s.Path.EndsWith("Backends.cs")).Select(s => s.Path).ToList();
        Assert.True(offenders.Count == 0, $"name IlgpuBackend outside src/Nets/Backends.cs (ask for a capability with `as`): {string.Join(", ", offenders)}");
    }

    /// <summary>A kind's name compared or matched, or a prefix or suffix of it tested: what the registry's entry is for.</summary>
    [Theory]
    [InlineData(@"(EndsWith|StartsWith|Contains)\(""(vae|ae|conv|cvae|classifier)")]
    [InlineData(@"(==|!=|is|is not|Kind:)\s*\(?""(ae|vae|conv-ae|conv-vae|cvae|classifier|vae-gan)""")]
    [InlineData(@"case\s+""(ae|vae|conv-ae|conv-vae|cvae|classifier|vae-gan)""")]
    [InlineData(@"""(ae|vae|conv-ae|conv-vae|cvae|classifier|vae-gan)""\s*=>")]
    public void NoCodeTestsTheSpellingOfAModelKind(string pattern)
    {
        var regex = new System.Text.RegularExpressions.Regex(pattern);
        var offenders = Sources("Nets", "Cli").Where(s => regex.IsMatch(s.Text)).Select(s => $"{s.Path}: {regex.Match(s.Text).Value}").ToList();
        Assert.True(offenders.Count == 0, $"{string.Join("; ", offenders)}: ask the ModelKind entry (Models.cs) instead");
    }
}
