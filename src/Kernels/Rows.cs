using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>Data movement and elementwise kernels: batch assembly, sigmoid, fill.</summary>
public static class Rows
{
    /// <summary>One thread per element of destination[rows, cols]: copies row order[start + r] of data[*, cols].</summary>
    public static void Gather(Index1D i, ArrayView<float> data, ArrayView<int> order, int start, int cols, ArrayView<float> destination)
    {
        int r = i / cols, c = i - r * cols;
        destination[i] = data[order[start + r] * cols + c];
    }

    public static void Sigmoid(Index1D i, ArrayView<float> x, ArrayView<float> y) => y[i] = 1f / (1f + XMath.Exp(-x[i]));

    public static void Fill(Index1D i, ArrayView<float> destination, float value) => destination[i] = value;
}
