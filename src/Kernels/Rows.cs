using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>
/// Data movement and elementwise kernels: batch assembly, column blocks, sigmoid and leaky ReLU with their backward passes,
/// a weighted add, fill. Elementwise kernels are grid-stride loops
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

    /// <summary>y[i] = <see cref="Leaky"/>(x[i]) over y: the discriminator's activation.</summary>
    public static void LeakyRelu(Index1D thread, int threads, ArrayView<float> x, ArrayView<float> y, float slope)
    {
        for (int i = thread; i < y.IntLength; i += threads) y[i] = Leaky(x[i], slope);
    }

    /// <summary>dx[i] = <see cref="LeakyGradient"/>(dy[i], x[i]) over dx, from the activation's input x.</summary>
    public static void LeakyReluBackward(Index1D thread, int threads, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, float slope)
    {
        for (int i = thread; i < dx.IntLength; i += threads) dx[i] = LeakyGradient(dy[i], x[i], slope);
    }

    /// <summary>The leaky ReLU of every backend: v where v &gt; 0, else slope·v (NaN stays NaN).</summary>
    public static float Leaky(float v, float slope) => v > 0f ? v : slope * v;

    /// <summary>The leaky ReLU's backward: the gradient where the input was &gt; 0, else slope·gradient.</summary>
    public static float LeakyGradient(float gradient, float input, float slope) => input > 0f ? gradient : slope * gradient;

    /// <summary>dx[i] = <see cref="LogisticGradient"/>(dy[i], y[i]) over dx, from the sigmoid's output y: the gradient of
    /// images at the logits they were decoded from.</summary>
    public static void SigmoidBackward(Index1D thread, int threads, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx)
    {
        for (int i = thread; i < dx.IntLength; i += threads) dx[i] = LogisticGradient(dy[i], y[i]);
    }

    /// <summary>The sigmoid's backward from its output s: gradient·s·(1 − s).</summary>
    public static float LogisticGradient(float gradient, float s) => gradient * s * (1f - s);

    /// <summary>y[i] += scale·x[i] over y: one loss's gradient added, weighted, to another's.</summary>
    public static void AddScaled(Index1D thread, int threads, ArrayView<float> x, ArrayView<float> y, float scale)
    {
        for (int i = thread; i < y.IntLength; i += threads) y[i] = PlusScaled(y[i], x[i], scale);
    }

    /// <summary>y + scale·x: the element every <see cref="AddScaled"/> adds.</summary>
    public static float PlusScaled(float y, float x, float scale) => y + scale * x;

    public static void Fill(Index1D thread, int threads, ArrayView<float> destination, float value)
    {
        for (int i = thread; i < destination.IntLength; i += threads) destination[i] = value;
    }
}

/// <summary>A block of columns copied between two row-major matrices (see <see cref="Rows.CopyColumns"/>): columns
/// [SourceColumn, SourceColumn + Columns) of rows SourceWidth wide into [DestinationColumn, …) of rows DestinationWidth wide.</summary>
public readonly record struct ColumnCopy(int Rows, int Columns, int SourceWidth, int SourceColumn, int DestinationWidth, int DestinationColumn);
