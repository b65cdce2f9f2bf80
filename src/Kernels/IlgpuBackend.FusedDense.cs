using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The fused dense step's launchers (<see cref="FusedDense"/>): GPU kernel set only.</summary>
public sealed partial class IlgpuBackend
{
    Action<AcceleratorStream, Index1D, int, DenseStepArgs, ArrayView<float>, ArrayView<float>>? _transposeWeights;
    Action<AcceleratorStream, KernelConfig, DenseStepArgs, ArrayView<float>, ArrayView<int>, ArrayView<int>, StepNumber, StepNumber, ArrayView<float>, ArrayView<float>>? _stepRows;
    Action<AcceleratorStream, KernelConfig, DenseStepArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamStep, ArrayView<float>, ArrayView<float>, ArrayView<int>, NonFiniteCheck, ArrayView<int>, AdamSource>? _stepUpdate;

    /// <summary>Whether <see cref="FusedDenseStep"/> can run here: the GPU kernel set, with groups of 256 threads and
    /// <see cref="FusedDense.SharedBytes"/> of shared memory (some OpenCL devices have 32 KB).</summary>
    public bool CanFuseDenseSteps => _stepRows is not null;

    /// <summary>Whether the dense models train by <see cref="FusedDenseStep"/> (three launches a step) rather than kernel by
    /// kernel: asked for at <see cref="Open"/>, where the device can. Off by default until a GPU measurement shows the
    /// fused step faster: no lent GPU has run it yet (BENCHMARKS.md); `gpuae bench` times both in one run and
    /// `gpuae check` checks it, each on a second backend opened fused; the tests open one.</summary>
    public bool FusesDenseSteps => FuseDenseSteps && CanFuseDenseSteps;

    /// <summary>Asked for at <see cref="Open"/>; a model created after a change takes the new setting (the tests train the
    /// GPU kernel set both ways on one accelerator, whose kernels are compiled once).</summary>
    public bool FuseDenseSteps { get; set; }

    void LoadFusedDense()
    {
        if (KernelSet != KernelSet.Gpu || _accelerator.MaxNumThreadsPerGroup < FusedDense.GroupSize || _accelerator.MaxSharedMemoryPerGroup < FusedDense.SharedBytes)
            return;
        Load(out _transposeWeights, FusedDense.TransposeWeights);
        Load(out _stepRows, FusedDense.StepRows);
        Load(out _stepUpdate, FusedDense.StepUpdate);
    }

    /// <summary>
    /// A whole training step of the dense AE or VAE in three launches (<see cref="FusedDense"/>): the batch of
    /// <paramref name="rows"/> gathered from data by order from firstRow, forward, loss, every gradient (also stored in
    /// gradients), Adam on every parameter, the batch's loss added to the watched sum and checked. What the unfused
    /// launches do between <see cref="GatherRows"/> and <see cref="Adam"/>, to float rounding; work: the layout's
    /// <see cref="DenseStepLayout.WorkLength"/> floats. Only where <see cref="FusesDenseSteps"/>.
    /// </summary>
    public void FusedDenseStep(DenseStepLayout layout, Tensor work, int rows, float klWeight, ulong seed, Tensor data, IndexTensor order,
        StepValue firstRow, StepValue step, Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep adam,
        NonFiniteWatch watch, IndexTensor? stepRecord)
    {
        if (_stepRows is null || _stepUpdate is null) throw new InvalidOperationException("the fused dense step needs the GPU kernel set");
        // (It runs whether or not FusesDenseSteps is on: that only says whether the models ask for it.)
        if (!layout.Fits) throw new ArgumentException($"the fused dense step does not take {layout}");
        if (rows < 1 || rows > layout.MaxRows) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows for a layout of {layout.MaxRows}");
        if (work.Length < layout.WorkLength) throw new ArgumentException($"work holds {work.Length} floats, the layout needs {layout.WorkLength}");
        Shapes.GatherRows(order, firstRow, rows, layout.Features, data, work);
        Shapes.Adam(parameters, gradients, firstMoment, secondMoment, watch, stepRecord);
        var args = layout.Arguments(rows, klWeight, seed);
        var record = RecordView(stepRecord);
        int threads = Threads(layout.WeightCount);
        _transposeWeights!(Stream, threads, threads, args, View(parameters), View(work));
        Launched?.Invoke($"fused step: Wᵀ {layout.WeightCount}");
        int groups = (rows + FusedDense.RowsPerGroup - 1) / FusedDense.RowsPerGroup;
        _stepRows(Stream, new KernelConfig(groups, FusedDense.GroupSize), args, View(data), View(order), record, firstRow.Argument, step.Argument,
            View(parameters), View(work));
        Launched?.Invoke($"fused step: rows {rows}×{layout.Features}");
        int side = Kernels.Gemm.GroupThreads;
        _stepUpdate(Stream, new KernelConfig(new Index3D(layout.UpdateGroups, 1, 1), new Index3D(side, side, 1)), args, View(parameters), View(gradients),
            View(firstMoment), View(secondMoment), adam, View(work), View(watch.Sums), View(watch.Flag), NonFiniteCheck.For(watch), record,
            AdamSource.For(stepRecord));
        Launched?.Invoke($"fused step: dW, db, Adam {parameters.Length}");
    }
}
