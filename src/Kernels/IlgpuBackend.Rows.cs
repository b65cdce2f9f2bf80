using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The data movement and elementwise launchers (<see cref="Rows"/>).</summary>
public sealed partial class IlgpuBackend
{
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<int>, ArrayView<int>, StepNumber, int, ArrayView<float>> _gather;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>> _sigmoid;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, float> _fill;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ColumnCopy> _copyColumns;

    [MemberNotNull(nameof(_gather), nameof(_sigmoid), nameof(_fill), nameof(_copyColumns))]
    void LoadRows()
    {
        Load(out _gather, Rows.Gather);
        Load(out _sigmoid, Rows.Sigmoid);
        Load(out _fill, Rows.Fill);
        Load(out _copyColumns, Rows.CopyColumns);
    }

    public void GatherRows(Tensor data, IndexTensor order, StepValue start, int rows, int cols, Tensor destination)
    {
        Shapes.GatherRows(order, start, rows, cols, data, destination);
        int threads = Threads(rows * cols);
        _gather(Stream, threads, threads, View(data), View(order), RecordView(start.Record), start.Argument, cols, View(destination).SubView(0, rows * cols));
        Launched?.Invoke($"gather rows {rows}×{cols}");
    }

    public void CopyColumns(Tensor source, Tensor destination, ColumnCopy copy)
    {
        Shapes.CopyColumns(source, destination, copy);
        if (copy.Rows == 0 || copy.Columns == 0) return;
        int threads = Threads(copy.Rows * copy.Columns);
        _copyColumns(Stream, threads, threads, View(source), View(destination), copy);
        Launched?.Invoke($"copy columns {copy.Rows}×{copy.Columns}");
    }

    public void Sigmoid(Tensor x, Tensor y)
    {
        Shapes.Rows("sigmoid", 1, y.Length, ("x", x, false));
        int threads = Threads(y.Length);
        _sigmoid(Stream, threads, threads, View(x), View(y));
        Launched?.Invoke($"sigmoid {x.Length}");
    }

    public void Fill(Tensor destination, float value)
    {
        int threads = Threads(destination.Length);
        _fill(Stream, threads, threads, View(destination), value);
        Launched?.Invoke($"fill {destination.Length}");
    }
}
