using System.Diagnostics;
using Xunit;

namespace GpuAe.Tests.Cli;

/// <summary>gpuae as a .NET tool, as a user outside the checkout gets it: the package packed from this build, installed
/// from its folder into a tool path (a fresh NuGet cache, so no earlier package of the same version is reused), run in an
/// empty folder with no --classifier: the report finishes and scores generation with the classifier the package ships.</summary>
public class ToolPackageTests : TempFolderTest
{
    (int Exit, string Output) Run(string file, string[] arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(file, arguments) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["NUGET_PACKAGES"] = Path.Combine(Folder, "nuget-cache");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    [Fact]
    public void ThePackedToolInstallsAndReportsFromAnEmptyFolderWithItsOwnClassifier()
    {
        string packages = Path.Combine(Folder, "nupkg"), tools = Path.Combine(Folder, "tools"), work = Path.Combine(Folder, "work");
        Directory.CreateDirectory(work);
        var pack = Run("dotnet", ["pack", Path.Combine(Repository.Root, "src", "Cli"), "-c", "Release", "--no-build", "-o", packages], Repository.Root);
        Assert.True(pack.Exit == 0, pack.Output);
        var install = Run("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", packages, "gpuae"], work);
        Assert.True(install.Exit == 0, install.Output);

        var report = Run(Path.Combine(tools, "gpuae"), ["report", "--models", "ae,vae", "--notebook-ae-epochs", "1", "--epochs", "1", "--seeds", "1",
            "--latents", "2", "--betas", "1", "--limit", "500", "--test-limit", "500", "--iwae-k", "1", "--manifold-n", "3", "--samples", "600", "--device", "simd"], work);
        Assert.True(report.Exit == 0, report.Output[^Math.Min(2000, report.Output.Length)..]);
        Assert.Contains($"scoring generated images with the classifier in {Path.Combine(tools, ".store")}", report.Output);
        var metrics = File.ReadAllLines(Path.Combine(work, "study", "metrics.csv"));
        int frechet = Array.IndexOf(metrics[0].Split(','), "frechet_samples");
        Assert.True(frechet > 0, metrics[0]);
        Assert.All(metrics.Skip(1), line => Assert.True(double.TryParse(line.Split(',')[frechet], System.Globalization.CultureInfo.InvariantCulture, out _), line));
        Assert.Contains("`reports/classifier`", File.ReadAllText(Path.Combine(work, "study", "REPORT.md")));
    }
}
