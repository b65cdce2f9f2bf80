using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>
/// y = act(x·Wᵀ + b) with W[out, in] as PyTorch's nn.Linear. Glorot-uniform weights (Keras's default), zero biases.
/// The layer owns no activations: the model passes the buffers, so every buffer is allocated once, up front.
/// </summary>
public sealed class DenseLayer
{
    readonly ParameterSet _parameters;
    readonly Parameter _weight, _bias;

    public int In { get; }
    public int Out { get; }
    public Activation Activation { get; }

    public DenseLayer(ParameterSet parameters, string name, int inFeatures, int outFeatures, Activation activation)
    {
        _parameters = parameters;
        In = inFeatures;
        Out = outFeatures;
        Activation = activation;
        _weight = parameters.Declare(name + ".weight", outFeatures, inFeatures);
        _bias = parameters.Declare(name + ".bias", outFeatures);
        parameters.Add(this);
    }

    /// <summary>Host values for the initial weights: uniform in ±√(6/(in+out)), drawn from (seed, the weight's offset).</summary>
    public void Initialise(float[] hostValues, ulong seed)
    {
        float limit = MathF.Sqrt(6f / (In + Out));
        ulong stream = (ulong)_weight.Offset;
        for (int i = 0; i < _weight.Length; i++)
            hostValues[_weight.Offset + i] = (2f * CounterRandom.Uniform(seed, stream, (ulong)i) - 1f) * limit;
        Array.Clear(hostValues, _bias.Offset, _bias.Length);
    }

    public void Forward(IBackend backend, Tensor x, Tensor y, int rows) =>
        backend.DenseForward(x, _parameters.ValueOf(_weight), _parameters.ValueOf(_bias), y, rows, In, Out, Activation);

    /// <summary>Writes dW and db from dy and the layer's input x; when <paramref name="dx"/> is given also the input
    /// gradient, masked by <paramref name="inputReluOutput"/> when x came out of a ReLU.</summary>
    public void Backward(IBackend backend, Tensor x, Tensor dy, Tensor? dx, Tensor? inputReluOutput, int rows)
    {
        backend.DenseBackwardParameters(dy, x, _parameters.GradientOf(_weight), _parameters.GradientOf(_bias), rows, In, Out);
        if (dx is { } dInput)
            backend.DenseBackwardInput(dy, _parameters.ValueOf(_weight), dInput, rows, In, Out, inputReluOutput);
    }
}
