using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The optimiser: Adam over the single buffer holding every parameter, so one launch updates the whole model.</summary>
public static class AdamKernels
{
    /// <summary>m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε), as PyTorch's Adam.</summary>
    /// <remarks>A grid-stride loop: thread t updates t, t+threads, … (see <see cref="Rows"/> for why).</remarks>
    public static void Update(Index1D thread, int threads, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamStep s)
    {
        for (int i = thread; i < p.IntLength; i += threads) UpdateOne(i, p, g, m, v, s);
    }

    static void UpdateOne(int i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamStep s)
    {
        float grad = g[i];
        float mi = s.Beta1 * m[i] + (1f - s.Beta1) * grad;
        float vi = s.Beta2 * v[i] + (1f - s.Beta2) * grad * grad;
        m[i] = mi;
        v[i] = vi;
        p[i] -= s.LearningRate * (mi / s.BiasCorrection1) / (MathF.Sqrt(vi / s.BiasCorrection2) + s.Epsilon);
    }
}
