using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The optimiser's launchers (<see cref="AdamKernels"/>).</summary>
public sealed partial class IlgpuBackend
{
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamStep, ArrayView<float>, ArrayView<int>, NonFiniteCheck, ArrayView<int>, AdamSource> _adam;
    /// <summary>The CPU kernel set's: 8 parameters per view access, for tensors that start on a Vec8.</summary>
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamStep, ArrayView<float>, ArrayView<int>, NonFiniteCheck, ArrayView<int>, AdamSource>? _adamVectors;

    [MemberNotNull(nameof(_adam))]
    void LoadAdam()
    {
        if (KernelSet == KernelSet.Cpu) Load(out _adamVectors, AdamKernels.UpdateVectors);
        Load(out _adam, AdamKernels.Update);
    }

    public void Adam(Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep step, NonFiniteWatch? watch = null,
        IndexTensor? stepRecord = null)
    {
        Shapes.Adam(parameters, gradients, firstMoment, secondMoment, watch, stepRecord);
        int threads = Threads(parameters.Length);
        bool aligned = StartsOnVec8(parameters) && StartsOnVec8(gradients) && StartsOnVec8(firstMoment) && StartsOnVec8(secondMoment);
        var adam = _adamVectors is not null && aligned ? _adamVectors : _adam;
        var (sums, flag) = watch is { } w ? (View(w.Sums), View(w.Flag)) : (_unused, _unusedIndex);
        adam(Stream, threads, threads, View(parameters), View(gradients), View(firstMoment), View(secondMoment), step, sums, flag,
            NonFiniteCheck.For(watch), RecordView(stepRecord), AdamSource.For(stepRecord));
        Launched?.Invoke($"Adam {parameters.Length}");
    }
}
