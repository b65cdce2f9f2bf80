using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>
/// 2-D convolution over channels-last images: im2col, then the dense layers' GEMM with bias and ReLU fused
/// (y[(n, oy, ox), oc] = act(patch · W[oc]ᵀ + b[oc])). W is [outChannels, ky, kx, inChannels], the order of an
/// im2col row. Backward: dW = dyᵀ · patches (the GEMM's weight gradient), dx = col2im(dy · W).
/// </summary>
public sealed class ConvLayer : ILayer
{
    readonly ParameterSet _parameters;
    readonly Parameter _weight, _bias;
    readonly Tensor _patches, _dPatches; // [maxRows · OutPixels, PatchLength], kept from forward to backward

    public ConvGeometry Geometry { get; }
    public int OutChannels { get; }
    public int In => Geometry.InPixels * Geometry.Channels;
    public int Out => Geometry.OutPixels * OutChannels;
    public Activation Activation { get; }
    public long MultiplyAdds => (long)Geometry.OutPixels * Geometry.PatchLength * OutChannels;

    public ConvLayer(ParameterSet parameters, string name, ConvGeometry geometry, int outChannels, Activation activation, IBackend backend, int maxRows)
    {
        _parameters = parameters;
        Geometry = geometry;
        OutChannels = outChannels;
        Activation = activation;
        _weight = parameters.Declare(name + ".weight", outChannels, geometry.Kernel, geometry.Kernel, geometry.Channels);
        _bias = parameters.Declare(name + ".bias", outChannels);
        parameters.Add(this);
        _patches = backend.Allocate(maxRows * geometry.OutPixels * geometry.PatchLength);
        _dPatches = backend.Allocate(maxRows * geometry.OutPixels * geometry.PatchLength);
    }

    public void Initialise(float[] hostValues, ulong seed) =>
        Glorot.Fill(hostValues, _weight, _bias, Geometry.PatchLength, Geometry.Kernel * Geometry.Kernel * OutChannels, seed);

    public void Forward(IBackend backend, Tensor x, Tensor y, int rows)
    {
        backend.Im2Col(x, _patches, rows, Geometry);
        backend.DenseForward(_patches, _parameters.ValueOf(_weight), _parameters.ValueOf(_bias), y,
            rows * Geometry.OutPixels, Geometry.PatchLength, OutChannels, Activation);
    }

    public void Backward(IBackend backend, Tensor x, Tensor dy, Tensor? dx, Tensor? inputReluOutput, int rows, bool parameterGradients = true)
    {
        int positions = rows * Geometry.OutPixels;
        if (parameterGradients)
            backend.DenseBackwardParameters(dy, _patches, _parameters.GradientOf(_weight), _parameters.GradientOf(_bias),
                positions, Geometry.PatchLength, OutChannels);
        if (dx is not { } dInput) return;
        backend.ConvBackwardInput(dy, _parameters.ValueOf(_weight), _dPatches, dInput, rows, OutChannels, Geometry, inputReluOutput);
    }
}

/// <summary>
/// Transposed convolution (the decoder's upsampling), the adjoint of a <see cref="ConvLayer"/> of geometry G: it maps
/// G's output grid (inChannels) back to G's input grid (G.Channels). Each input pixel's channels are multiplied
/// by W[(ky, kx, c), inChannels] into a patch, and col2im adds the overlapping patches into the image; then bias and
/// activation. With G = (k 3, stride 2, padding 1) this is PyTorch's ConvTranspose2d(k=3, s=2, p=1, output_padding=1)
/// up to the weight layout. Backward: the patches of dy (im2col), dW = patchesᵀ · x, dx = patches · W, db = Σ dy.
/// </summary>
public sealed class ConvTransposeLayer : ILayer
{
    readonly ParameterSet _parameters;
    readonly Parameter _weight, _bias;
    readonly Tensor _patches;             // [maxRows · G.OutPixels, G.PatchLength]: forward's products, backward's im2col of dy

    public ConvGeometry Geometry { get; }
    public int InChannels { get; }
    public int In => Geometry.OutPixels * InChannels;
    public int Out => Geometry.InPixels * Geometry.Channels;
    public Activation Activation { get; }
    public long MultiplyAdds => (long)Geometry.OutPixels * InChannels * Geometry.PatchLength;

    public ConvTransposeLayer(ParameterSet parameters, string name, ConvGeometry geometry, int inChannels, Activation activation, IBackend backend, int maxRows)
    {
        _parameters = parameters;
        Geometry = geometry;
        InChannels = inChannels;
        Activation = activation;
        _weight = parameters.Declare(name + ".weight", geometry.Kernel, geometry.Kernel, geometry.Channels, inChannels);
        _bias = parameters.Declare(name + ".bias", geometry.Channels);
        parameters.Add(this);
        _patches = backend.Allocate(maxRows * geometry.OutPixels * geometry.PatchLength);
    }

    public void Initialise(float[] hostValues, ulong seed) =>
        Glorot.Fill(hostValues, _weight, _bias, Geometry.Kernel * Geometry.Kernel * InChannels, Geometry.PatchLength, seed);

    public void Forward(IBackend backend, Tensor x, Tensor y, int rows)
    {
        backend.ConvTranspose(x, _parameters.ValueOf(_weight), _patches, y, rows, InChannels, Geometry);
        backend.AddBias(y, _parameters.ValueOf(_bias), rows * Geometry.InPixels, Geometry.Channels, Activation);
    }

    public void Backward(IBackend backend, Tensor x, Tensor dy, Tensor? dx, Tensor? inputReluOutput, int rows, bool parameterGradients = true)
    {
        int positions = rows * Geometry.OutPixels;
        backend.Im2Col(dy, _patches, rows, Geometry);
        if (parameterGradients)
        {
            backend.DenseBackwardParameters(_patches, x, _parameters.GradientOf(_weight), null, positions, InChannels, Geometry.PatchLength);
            backend.ColumnSums(dy, rows * Geometry.InPixels, Geometry.Channels, _parameters.GradientOf(_bias));
        }
        if (dx is { } dInput)
            backend.DenseBackwardInput(_patches, _parameters.ValueOf(_weight), dInput, positions, InChannels, Geometry.PatchLength, inputReluOutput);
    }
}
