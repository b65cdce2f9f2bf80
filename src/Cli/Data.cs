using System.CommandLine;
using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets;

namespace GpuAe.Cli;

static class Data
{
    /// <summary>Train and test splits from --data / $GPUAE_DATA / the default folder, the train split cut to --limit and
    /// the test split to --test-limit.</summary>
    public static (Dataset Train, Dataset Test) Load(string? folder, int? limit, int? testLimit)
    {
        if (limit is < 1) throw new UserError($"--limit must be at least 1 (got {limit})");
        var (train, test) = FashionMnist.Load(FashionMnist.ResolveFolder(folder));
        return (limit is int n ? train.Take(n) : train, CutTest(test, testLimit));
    }

    /// <summary>The first --test-limit test images (all of them without it).</summary>
    public static Dataset CutTest(Dataset test, int? testLimit) => testLimit switch
    {
        < 1 => throw new UserError($"--test-limit must be at least 1 (got {testLimit})"),
        int n => test.Take(n),
        null => test,
    };

    public static Option<int?> TestLimitOption() =>
        new("--test-limit") { Description = "score on the first N test images only (quick runs, tests; the numbers are then not the study's)" };
}
