using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The convolutions' launchers (<see cref="Conv"/>): im2col, col2im and the transposed convolution's bias.</summary>
public sealed partial class IlgpuBackend
{
    Action<AcceleratorStream, Index1D, int, SpecializedValue<ConvGeometry>, int, ArrayView<float>, ArrayView<float>> _im2Col;
    Action<AcceleratorStream, Index1D, int, SpecializedValue<ConvGeometry>, int, ArrayView<float>, int, ArrayView<float>, ArrayView<float>> _col2Im;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, int, int, ArrayView<float>, int> _addBias;

    [MemberNotNull(nameof(_im2Col), nameof(_col2Im), nameof(_addBias))]
    void LoadConv()
    {
        Load(out _im2Col, Conv.Im2Col);
        Load(out _col2Im, Conv.Col2Im);
        Load(out _addBias, Conv.AddBias);
    }

    public void Im2Col(Tensor images, Tensor cols, int count, ConvGeometry geometry)
    {
        Shapes.Conv("im2col", images, cols, null, count, geometry);
        int threads = Threads(count * geometry.OutPixels * geometry.PatchLength);
        _im2Col(Stream, threads, threads, SpecializedValue.New(geometry), count, View(images), View(cols));
        Launched?.Invoke($"im2col {Images(count, geometry)}");
    }

    public void Col2Im(Tensor cols, Tensor images, int count, ConvGeometry geometry, Tensor? reluOutput)
    {
        Shapes.Conv("col2im", images, cols, reluOutput, count, geometry);
        int threads = Threads(count * geometry.InPixels * geometry.Channels);
        _col2Im(Stream, threads, threads, SpecializedValue.New(geometry), count, View(cols), reluOutput is null ? 0 : 1,
            reluOutput is { } mask ? View(mask) : _unused, View(images));
        Launched?.Invoke($"col2im {Images(count, geometry)}");
    }

    /// <summary>The GEMM into cols (no epilogue), then col2im: two launches.</summary>
    public void ConvTranspose(Tensor x, Tensor w, Tensor cols, Tensor images, int count, int inChannels, ConvGeometry geometry)
    {
        Shapes.Col2ImOfProduct("transposed convolution", x, w, images, cols, null, count, inChannels, geometry);
        int rows = count * geometry.OutPixels;
        LaunchGemm(GemmArgs.Forward(rows, inChannels, geometry.PatchLength, GemmEpilogue.None), x, w, _unused, _unused, cols);
        Launched?.Invoke($"dense forward {rows}×{inChannels}→{geometry.PatchLength}");
        Col2Im(cols, images, count, geometry, null);
    }

    /// <summary>DenseBackwardInput into cols, then col2im with the mask: two launches.</summary>
    public void ConvBackwardInput(Tensor dy, Tensor w, Tensor cols, Tensor dx, int count, int outChannels, ConvGeometry geometry, Tensor? reluOutput)
    {
        Shapes.Col2ImOfProduct("convolution backward dX", dy, w, dx, cols, reluOutput, count, outChannels, geometry);
        DenseBackwardInput(dy, w, cols, count * geometry.OutPixels, geometry.PatchLength, outChannels, null);
        Col2Im(cols, dx, count, geometry, reluOutput);
    }

    public void AddBias(Tensor y, Tensor bias, int rows, int cols, Activation activation)
    {
        Shapes.Rows("bias", rows, cols, ("y", y, false)); Shapes.Rows("bias", 1, cols, ("bias", bias, false));
        int threads = Threads(rows * cols);
        _addBias(Stream, threads, threads, View(y), rows * cols, cols, View(bias), activation == Activation.Relu ? 1 : 0);
        Launched?.Invoke($"bias {rows}×{cols}");
    }

    static string Images(int count, ConvGeometry g) => $"{count}×{g.InHeight}×{g.InWidth}×{g.Channels} k{g.Kernel} s{g.Stride}";
}
