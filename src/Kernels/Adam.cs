using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The kernels' side of <see cref="NonFiniteWatch"/>: which slot of the sums, which step, and whether to check at all.</summary>
public struct NonFiniteCheck
{
    public int Slot, Step, Enabled;

    /// <summary>The check of <paramref name="watch"/>, or none (Enabled 0) without one. Steps past int.MaxValue stay there.</summary>
    public static NonFiniteCheck For(NonFiniteWatch? watch) => watch is { } w
        ? new NonFiniteCheck { Slot = w.Slot, Step = (int)Math.Min(w.Step, int.MaxValue), Enabled = 1 }
        : default;
}

/// <summary>Whether Adam takes the step's bias corrections and the watch's step from the launch or from the step record
/// (see <see cref="StepRecord"/>).</summary>
public struct AdamSource
{
    public int FromRecord;

    /// <summary>From the record when there is one.</summary>
    public static AdamSource For(IndexTensor? record) => new() { FromRecord = record is null ? 0 : 1 };

    /// <summary>The update's hyper-parameters and the check, with the per-step numbers read from the record when asked
    /// (in a kernel and on the host alike).</summary>
    public readonly void Resolve<TInts>(TInts record, ref AdamStep s, ref NonFiniteCheck check) where TInts : struct, IElements<int>
    {
        if (FromRecord == 0) return;
        s = new AdamStep(s.LearningRate, s.Beta1, s.Beta2, s.Epsilon,
            Interop.IntAsFloat((uint)record[StepRecord.BiasCorrection1]), Interop.IntAsFloat((uint)record[StepRecord.BiasCorrection2]));
        check.Step = record[StepRecord.Step];
    }
}

/// <summary>The optimiser: Adam over the single buffer holding every parameter, so one launch updates the whole model.</summary>
public static class AdamKernels
{
    /// <summary>m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε), as PyTorch's Adam.</summary>
    /// <remarks>A grid-stride loop: thread t updates t, t+threads, … (see <see cref="Rows"/> for why). Thread 0 also
    /// checks the running loss sum when asked (<see cref="NonFiniteWatch"/>).</remarks>
    public static void Update(Index1D thread, int threads, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamStep s,
        ArrayView<float> sums, ArrayView<int> flag, NonFiniteCheck check, ArrayView<int> record, AdamSource source)
    {
        source.Resolve(new ViewElements<int>(record), ref s, ref check);
        if (thread == 0 && check.Enabled != 0) Loss.FlagIfNonFinite(sums[check.Slot], new ViewElements<int>(flag), check.Step);
        for (int i = thread; i < p.IntLength; i += threads) UpdateOne(i, p, g, m, v, s);
    }

    /// <summary>The CPU kernel set's Adam: the same update on 8 parameters per view access (p, g, m and v read and
    /// written as Vec8s; on ILGPU's CPU accelerator the view accesses, not the arithmetic, set the pace), the elements
    /// past the last whole Vec8 one by one. Every element gets the same float operations, in the same order, as in
    /// <see cref="Update"/>. The four views must start on multiples of 8 floats of their buffers.</summary>
    public static void UpdateVectors(Index1D thread, int threads, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamStep s,
        ArrayView<float> sums, ArrayView<int> flag, NonFiniteCheck check, ArrayView<int> record, AdamSource source)
    {
        source.Resolve(new ViewElements<int>(record), ref s, ref check);
        if (thread == 0 && check.Enabled != 0) Loss.FlagIfNonFinite(sums[check.Slot], new ViewElements<int>(flag), check.Step);
        var p8 = p.Cast<Vec8>(); var g8 = g.Cast<Vec8>(); var m8 = m.Cast<Vec8>(); var v8 = v.Cast<Vec8>();
        int vectors = p.IntLength / Vec8.Length;
        for (int i = thread; i < vectors; i += threads)
        {
            var grad = g8[i];
            var mi = Blend(s.Beta1, m8[i], 1f - s.Beta1, grad);
            var vi = BlendSquare(s.Beta2, v8[i], 1f - s.Beta2, grad);
            m8[i] = mi;
            v8[i] = vi;
            p8[i] = Descend(p8[i], mi, vi, s);
        }
        for (int i = vectors * Vec8.Length + thread; i < p.IntLength; i += threads) UpdateOne(i, p, g, m, v, s);
    }

    static void UpdateOne(int i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamStep s) =>
        Apply(i, g[i], new ViewElements<float>(p), new ViewElements<float>(m), new ViewElements<float>(v), s);

    /// <summary>The update of parameter i from its gradient: the one rule every Adam applies (the kernels, the fused
    /// step's weight-gradient epilogue, <see cref="FusedDense"/>, and the SIMD backend's scalar tail; the Vec8 kernel and
    /// the SIMD vector body apply it to 8 or a vector of parameters at once, in the same float operations).</summary>
    public static void Apply<TFloats>(int i, float grad, TFloats p, TFloats m, TFloats v, AdamStep s) where TFloats : struct, IElements<float>
    {
        float mi = s.Beta1 * m[i] + (1f - s.Beta1) * grad;
        float vi = s.Beta2 * v[i] + (1f - s.Beta2) * grad * grad;
        m[i] = mi;
        v[i] = vi;
        p[i] = Descend(p[i], mi, vi, s);
    }

    static float Descend(float p, float m, float v, AdamStep s) =>
        p - s.LearningRate * (m / s.BiasCorrection1) / (MathF.Sqrt(v / s.BiasCorrection2) + s.Epsilon);

    /// <summary>a·x + b·y element by element (the first moment).</summary>
    static Vec8 Blend(float a, in Vec8 x, float b, in Vec8 y) => new(a * x.E0 + b * y.E0, a * x.E1 + b * y.E1,
        a * x.E2 + b * y.E2, a * x.E3 + b * y.E3, a * x.E4 + b * y.E4, a * x.E5 + b * y.E5, a * x.E6 + b * y.E6, a * x.E7 + b * y.E7);

    /// <summary>a·x + b·y·y element by element (the second moment).</summary>
    static Vec8 BlendSquare(float a, in Vec8 x, float b, in Vec8 y) => new(a * x.E0 + b * y.E0 * y.E0, a * x.E1 + b * y.E1 * y.E1,
        a * x.E2 + b * y.E2 * y.E2, a * x.E3 + b * y.E3 * y.E3, a * x.E4 + b * y.E4 * y.E4, a * x.E5 + b * y.E5 * y.E5,
        a * x.E6 + b * y.E6 * y.E6, a * x.E7 + b * y.E7 * y.E7);

    static Vec8 Descend(in Vec8 p, in Vec8 m, in Vec8 v, AdamStep s) => new(Descend(p.E0, m.E0, v.E0, s), Descend(p.E1, m.E1, v.E1, s),
        Descend(p.E2, m.E2, v.E2, s), Descend(p.E3, m.E3, v.E3, s), Descend(p.E4, m.E4, v.E4, s), Descend(p.E5, m.E5, v.E5, s),
        Descend(p.E6, m.E6, v.E6, s), Descend(p.E7, m.E7, v.E7, s));
}
