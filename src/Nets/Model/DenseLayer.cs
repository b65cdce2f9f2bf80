using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>y = act(x·Wᵀ + b) with W[out, in] as PyTorch's nn.Linear. Glorot-uniform weights, zero biases.</summary>
public sealed class DenseLayer : ILayer
{
    readonly ParameterSet _parameters;
    readonly Parameter _weight, _bias;

    /// <summary>Where W[out, in] and the bias live in the parameter buffer.</summary>
    public Parameter Weight => _weight;
    public Parameter Bias => _bias;
    public int In { get; }
    public int Out { get; }
    public Activation Activation { get; }
    public long MultiplyAdds => (long)In * Out;

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

    public void Initialise(float[] hostValues, ulong seed) => Glorot.Fill(hostValues, _weight, _bias, In, Out, seed);

    public void Forward(IBackend backend, Tensor x, Tensor y, int rows) =>
        backend.DenseForward(x, _parameters.ValueOf(_weight), _parameters.ValueOf(_bias), y, rows, In, Out, Activation);

    public void Backward(IBackend backend, Tensor x, Tensor dy, Tensor? dx, Tensor? inputReluOutput, int rows, bool parameterGradients = true)
    {
        if (parameterGradients)
            backend.DenseBackwardParameters(dy, x, _parameters.GradientOf(_weight), _parameters.GradientOf(_bias), rows, In, Out);
        if (dx is { } dInput)
            backend.DenseBackwardInput(dy, _parameters.ValueOf(_weight), dInput, rows, In, Out, inputReluOutput);
    }
}
