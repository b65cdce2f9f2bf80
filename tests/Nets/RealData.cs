using GpuAe.Nets.Data;
using GpuAe.Nets;

namespace GpuAe.Tests.Nets;

/// <summary>The real Fashion-MNIST files (installed by `apt-get install dataset-fashion-mnist`, as CI does), read once.</summary>
public static class RealData
{
    static readonly Lazy<(Dataset Train, Dataset Test)> Loaded = new(() =>
    {
        string folder = FashionMnist.ResolveFolder(null);
        var (train, test) = FashionMnist.Load(folder);
        // A subset in $GPUAE_DATA would quietly weaken every real-data test: refuse it.
        if (train.Count != 60000 || test.Count != 10000)
            throw new InvalidOperationException($"the real-data tests need all of Fashion-MNIST; {folder} holds {train.Count:N0} training and {test.Count:N0} test images");
        return (train, test);
    });
    public static Dataset Train => Loaded.Value.Train;
    public static Dataset Test => Loaded.Value.Test;
}
