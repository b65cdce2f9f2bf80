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
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>> _sigmoidBackward;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, float> _leakyRelu, _addScaled;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, float> _leakyReluBackward;

    [MemberNotNull(nameof(_gather), nameof(_sigmoid), nameof(_fill), nameof(_copyColumns), nameof(_sigmoidBackward), nameof(_leakyRelu),
        nameof(_addScaled), nameof(_leakyReluBackward))]
    void LoadRows()
    {
        Load(out _gather, Rows.Gather);
        Load(out _sigmoid, Rows.Sigmoid);
        Load(out _fill, Rows.Fill);
        Load(out _copyColumns, Rows.CopyColumns);
        Load(out _sigmoidBackward, Rows.SigmoidBackward);
        Load(out _leakyRelu, Rows.LeakyRelu);
        Load(out _leakyReluBackward, Rows.LeakyReluBackward);
        Load(out _addScaled, Rows.AddScaled);
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

    public void SigmoidBackward(Tensor y, Tensor dy, Tensor dx)
    {
        Shapes.Rows("sigmoid backward", 1, dx.Length, ("y", y, false), ("dy", dy, false));
        int threads = Threads(dx.Length);
        _sigmoidBackward(Stream, threads, threads, View(y), View(dy), View(dx));
        Launched?.Invoke($"sigmoid backward {dx.Length}");
    }

    public void LeakyRelu(Tensor x, Tensor y, float slope)
    {
        Shapes.Rows("leaky ReLU", 1, y.Length, ("x", x, false));
        int threads = Threads(y.Length);
        _leakyRelu(Stream, threads, threads, View(x), View(y), slope);
        Launched?.Invoke($"leaky ReLU {y.Length}");
    }

    public void LeakyReluBackward(Tensor x, Tensor dy, Tensor dx, float slope)
    {
        Shapes.Rows("leaky ReLU backward", 1, dx.Length, ("x", x, false), ("dy", dy, false));
        int threads = Threads(dx.Length);
        _leakyReluBackward(Stream, threads, threads, View(x), View(dy), View(dx), slope);
        Launched?.Invoke($"leaky ReLU backward {dx.Length}");
    }

    public void AddScaled(Tensor x, Tensor y, float scale)
    {
        Shapes.Rows("add scaled", 1, y.Length, ("x", x, false));
        int threads = Threads(y.Length);
        _addScaled(Stream, threads, threads, View(x), View(y), scale);
        Launched?.Invoke($"add scaled {y.Length}");
    }

    public void Fill(Tensor destination, float value)
    {
        int threads = Threads(destination.Length);
        _fill(Stream, threads, threads, View(destination), value);
        Launched?.Invoke($"fill {destination.Length}");
    }
}
