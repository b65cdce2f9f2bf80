using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The importance-weighted bound's launchers (<see cref="Iwae"/>).</summary>
public sealed partial class IlgpuBackend
{
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _logWeights;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, int, int, ArrayView<float>> _negativeLogMeanExp;

    [MemberNotNull(nameof(_logWeights), nameof(_negativeLogMeanExp))]
    void LoadIwae()
    {
        Load(out _logWeights, Iwae.LogWeights);
        Load(out _negativeLogMeanExp, Iwae.NegativeLogMeanExp);
    }

    public void ImportanceLogWeights(Tensor enc, Tensor noise, Tensor z, Tensor rowBce, Tensor logWeights, int sample, int rows, int latent)
    {
        Shapes.Latent("IWAE log-weights", enc, rows, latent, ("noise", noise, latent), ("z", z, latent), ("rowBce", rowBce, 1), ("logWeights", logWeights, sample + 1));
        int threads = Threads(rows);
        _logWeights(Stream, threads, threads, View(enc), View(noise), View(z), View(rowBce), View(logWeights), sample, rows, latent);
        Launched?.Invoke($"IWAE log-weights {rows}×{latent}");
    }

    public void NegativeLogMeanExp(Tensor logWeights, int samples, int rows, Tensor rowBound)
    {
        Shapes.LogMeanExp(logWeights, rowBound, samples, rows);
        int threads = Threads(rows);
        _negativeLogMeanExp(Stream, threads, threads, View(logWeights), samples, rows, View(rowBound));
        Launched?.Invoke($"log-mean-exp {samples}×{rows}");
    }
}
