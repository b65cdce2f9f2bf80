using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>
/// Layers applied in order, with the activation and gradient buffers between them allocated once for maxRows rows.
/// Backward runs the layers in reverse; each layer's input gradient is masked by the ReLU of the layer before it
/// (fused into the GEMM or col2im that produces it).
/// </summary>
public sealed class Sequential
{
    readonly ILayer[] _layers;
    readonly Tensor[] _outputs, _gradients; // after layer i, for every layer but the last (whose output the caller owns)

    public IReadOnlyList<ILayer> Layers => _layers;

    public Sequential(IBackend backend, int maxRows, params ILayer[] layers)
    {
        for (int i = 1; i < layers.Length; i++)
            if (layers[i].In != layers[i - 1].Out)
                throw new ArgumentException($"layer {i} takes {layers[i].In} values per image but layer {i - 1} gives {layers[i - 1].Out}");
        _layers = layers;
        _outputs = [.. layers[..^1].Select(l => backend.Allocate(maxRows * l.Out))];
        _gradients = [.. layers[..^1].Select(l => backend.Allocate(maxRows * l.Out))];
    }

    public void Forward(IBackend backend, Tensor x, Tensor y, int rows)
    {
        for (int i = 0; i < _layers.Length; i++)
            _layers[i].Forward(backend, i == 0 ? x : _outputs[i - 1], i == _layers.Length - 1 ? y : _outputs[i], rows);
    }

    /// <summary>Every parameter gradient from dy (the gradient of the last <see cref="Forward"/>'s y); dx when given,
    /// masked by <paramref name="inputReluOutput"/> when x came out of a ReLU. Rows are the first rows of that forward
    /// pass (a pass over [a; b] can go back through a alone).</summary>
    public void Backward(IBackend backend, Tensor x, Tensor dy, Tensor? dx, Tensor? inputReluOutput, int rows) =>
        Backward(backend, x, dy, dx, inputReluOutput, rows, parameterGradients: true);

    /// <summary>dx from dy through every layer, and no parameter gradient written: a loss that this network carries back
    /// to its input but does not train it (the VAE-GAN's discriminator under the encoder's and the decoder's losses).</summary>
    public void BackwardInput(IBackend backend, Tensor x, Tensor dy, Tensor dx, Tensor? inputReluOutput, int rows) =>
        Backward(backend, x, dy, dx, inputReluOutput, rows, parameterGradients: false);

    void Backward(IBackend backend, Tensor x, Tensor dy, Tensor? dx, Tensor? inputReluOutput, int rows, bool parameterGradients)
    {
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            var layerDy = i == _layers.Length - 1 ? dy : _gradients[i];
            if (i == 0)
                _layers[0].Backward(backend, x, layerDy, dx, inputReluOutput, rows, parameterGradients);
            else
                _layers[i].Backward(backend, _outputs[i - 1], layerDy, _gradients[i - 1],
                    _layers[i - 1].Activation == Activation.Relu ? _outputs[i - 1] : null, rows, parameterGradients);
        }
    }
}
