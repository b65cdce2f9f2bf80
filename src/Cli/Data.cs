using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets;

namespace GpuAe.Cli;

static class Data
{
    /// <summary>Train and test splits from --data / $GPUAE_DATA / the default folder, the train split cut to --limit.</summary>
    public static (Dataset Train, Dataset Test) Load(string? folder, int? limit)
    {
        if (limit is < 1) throw new UserError($"--limit must be at least 1 (got {limit})");
        var (train, test) = FashionMnist.Load(FashionMnist.ResolveFolder(folder));
        return (limit is int n ? train.Take(n) : train, test);
    }
}
