using GpuAe.Nets.Data;
using GpuAe.Nets;

namespace GpuAe.Tests.Nets;

/// <summary>The real Fashion-MNIST files (installed by `apt-get install dataset-fashion-mnist`, as CI does), read once.</summary>
public static class RealData
{
    static readonly Lazy<(Dataset Train, Dataset Test)> Loaded = new(() => FashionMnist.Load(FashionMnist.ResolveFolder(null)));
    public static Dataset Train => Loaded.Value.Train;
    public static Dataset Test => Loaded.Value.Test;
}
