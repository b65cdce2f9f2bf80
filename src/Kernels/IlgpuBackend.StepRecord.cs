using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The step record's launcher (<see cref="StepRecord"/>).</summary>
public sealed partial class IlgpuBackend
{
    Action<AcceleratorStream, Index1D, ArrayView<int>, ArrayView<int>> _beginStep;

    [MemberNotNull(nameof(_beginStep))]
    void LoadStepRecord() => Load(out _beginStep, StepRecord.Begin);

    public void BeginStep(IndexTensor schedule, IndexTensor record)
    {
        _beginStep(Stream, 1, View(schedule), View(record));
        Launched?.Invoke("begin step");
    }
}
