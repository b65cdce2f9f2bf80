using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>
/// Data movement and elementwise kernels: batch assembly, column blocks, sigmoid, fill. Elementwise kernels are grid-stride loops
/// launched on at most the device's thread count: ILGPU's CPU accelerator pays about a microsecond per simulated
/// thread group, so one thread per element made Adam alone cost 120 ms a step there; a GPU is just as fast either way.
/// </summary>
public static class Rows
{
    /// <summary>destination[i] = data[order[start + i / cols] · cols + i % cols] over destination[rows·cols]; start given
    /// at launch or read from the step record (see <see cref="StepNumber"/>).</summary>
    public static void Gather(Index1D thread, int threads, ArrayView<float> data, ArrayView<int> order, ArrayView<int> record, StepNumber firstRow,
        int cols, ArrayView<float> destination)
    {
        int start = (int)firstRow.In(record);
        for (int i = thread; i < destination.IntLength; i += threads)
        {
            int r = i / cols, c = i - r * cols;
            destination[i] = data[order[start + r] * cols + c];
        }
    }

    /// <summary>destination[r, copy.DestinationColumn + c] = source[r, copy.SourceColumn + c] for r &lt; copy.Rows and
    /// c &lt; copy.Columns, rows of copy.SourceWidth and copy.DestinationWidth floats; grid-stride over the copied
    /// elements. Appends a condition to a batch (the conditional VAE's [x | y] and [z | y]) and takes a block back out
    /// of a gradient (dz from d[z | y]): a copy is its own adjoint, with source and destination swapped.</summary>
    public static void CopyColumns(Index1D thread, int threads, ArrayView<float> source, ArrayView<float> destination, ColumnCopy copy)
    {
        for (int i = thread; i < copy.Rows * copy.Columns; i += threads)
        {
            int r = i / copy.Columns, c = i - r * copy.Columns;
            destination[r * copy.DestinationWidth + copy.DestinationColumn + c] = source[r * copy.SourceWidth + copy.SourceColumn + c];
        }
    }

    public static void Sigmoid(Index1D thread, int threads, ArrayView<float> x, ArrayView<float> y)
    {
        for (int i = thread; i < y.IntLength; i += threads) y[i] = Logistic(x[i]);
    }

    /// <summary>1 / (1 + e^−x): every backend's sigmoid of decoder logits.</summary>
    public static float Logistic(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>The ReLU of every backend and epilogue: v where v &gt; 0, else +0 (NaN and −0 become +0).</summary>
    public static float Relu(float v) => v > 0f ? v : 0f;

    /// <summary>The ReLU's backward: the gradient where the layer's output is &gt; 0, else 0 (a NaN output too).</summary>
    public static float KeepWherePositive(float gradient, float reluOutput) => reluOutput > 0f ? gradient : 0f;

    public static void Fill(Index1D thread, int threads, ArrayView<float> destination, float value)
    {
        for (int i = thread; i < destination.IntLength; i += threads) destination[i] = value;
    }
}

/// <summary>A block of columns copied between two row-major matrices (see <see cref="Rows.CopyColumns"/>): columns
/// [SourceColumn, SourceColumn + Columns) of rows SourceWidth wide into [DestinationColumn, …) of rows DestinationWidth wide.</summary>
public readonly record struct ColumnCopy(int Rows, int Columns, int SourceWidth, int SourceColumn, int DestinationWidth, int DestinationColumn);
