using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>
/// y = x where x &gt; 0, else slope·x, as a layer of its own (PyTorch's nn.LeakyReLU): no parameters, Width floats in
/// and out per image. The VAE-GAN's discriminator uses it where the layer before must keep its output before the
/// activation (Dis_l, the features its reconstruction loss compares), and because a GAN's discriminator without batch
/// normalisation trains better without dead units (Radford et al., 2016: slope 0.2).
/// </summary>
public sealed class LeakyReluLayer(int width, float slope) : ILayer
{
    public int In => width;
    public int Out => width;
    public float Slope => slope;
    /// <summary>None: the next layer's backward has no ReLU mask to apply (this layer applies its own slope).</summary>
    public Activation Activation => Activation.None;
    public long MultiplyAdds => 0;

    public void Initialise(float[] hostValues, ulong seed) { }

    public void Forward(IBackend backend, Tensor x, Tensor y, int rows) => backend.LeakyRelu(x, y.Slice(0, rows * width), slope);

    public void Backward(IBackend backend, Tensor x, Tensor dy, Tensor? dx, Tensor? inputReluOutput, int rows, bool parameterGradients = true)
    {
        if (inputReluOutput is not null) throw new NotSupportedException("a leaky ReLU after a ReLU: the input gradient would need both masks");
        if (dx is { } dInput) backend.LeakyReluBackward(x, dy, dInput.Slice(0, rows * width), slope);
    }
}
