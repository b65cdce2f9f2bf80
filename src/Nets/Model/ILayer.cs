using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>
/// A layer of a <see cref="Sequential"/> network: In floats per image in, Out floats per image out, y = act(f(x)).
/// Layers own their parameters (declared in the model's <see cref="ParameterSet"/>) and any workspace they need
/// between forward and backward; the network owns the activations between layers.
/// </summary>
public interface ILayer
{
    int In { get; }
    int Out { get; }
    Activation Activation { get; }
    /// <summary>Multiply-adds of the forward pass per image (each of the two backward GEMMs costs about as many).</summary>
    long MultiplyAdds { get; }

    /// <summary>Writes the layer's initial parameters into the host copy of the parameter buffer.</summary>
    void Initialise(float[] hostValues, ulong seed);

    void Forward(IBackend backend, Tensor x, Tensor y, int rows);

    /// <summary>Writes the parameter gradients from dy and the input x of the last <see cref="Forward"/>; when
    /// <paramref name="dx"/> is given also the input gradient, masked by <paramref name="inputReluOutput"/> when x
    /// came out of a ReLU. Without <paramref name="parameterGradients"/> only dx: the pass carries a loss through this
    /// layer to the ones before it and leaves this layer's gradients alone (the VAE-GAN's encoder loss through the
    /// discriminator and the decoder, which it does not train).</summary>
    void Backward(IBackend backend, Tensor x, Tensor dy, Tensor? dx, Tensor? inputReluOutput, int rows, bool parameterGradients = true);
}

/// <summary>Glorot-uniform initial weights (Keras's default for dense and convolution layers) and zero biases.</summary>
public static class Glorot
{
    /// <summary>weight ~ U(±√(6 / (fanIn + fanOut))), drawn from (seed, the weight's offset in the buffer, index), so every
    /// backend and every run draws the same values; bias = 0.</summary>
    public static void Fill(float[] hostValues, Parameter weight, Parameter bias, int fanIn, int fanOut, ulong seed)
    {
        float limit = MathF.Sqrt(6f / (fanIn + fanOut));
        ulong stream = (ulong)weight.Offset;
        for (int i = 0; i < weight.Length; i++)
            hostValues[weight.Offset + i] = (2f * CounterRandom.Uniform(seed, stream, (ulong)i) - 1f) * limit;
        Array.Clear(hostValues, bias.Offset, bias.Length);
    }
}
