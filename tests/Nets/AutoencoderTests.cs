using GpuAe.Kernels;
using GpuAe.Nets.Model;
using GpuAe.Nets;
using Xunit;

namespace GpuAe.Tests.Nets;

public class AutoencoderTests
{
    /// <summary>A full AE step on a tiny architecture: every gradient the model writes (through all four layers, both
    /// ReLU masks of the decoder and encoder, and the code's ReLU) matches central differences of the batch loss.</summary>
    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.None)]
    public void EveryGradientOfAStepMatchesFiniteDifferences(Activation codeActivation)
    {
        const int rows = 5, features = 12;
        var be = Cpu.Backend;
        var model = new Autoencoder(be, rows, codeActivation, features, hidden: 7, codeSize: 3);
        // Random non-zero biases: with Glorot weights and zero biases a row whose ReLU code is all zero puts the
        // decoder's pre-activations exactly on the ReLU kink, where central differences are meaningless.
        be.Upload(model.Parameters.Values, Values.Random(model.Parameters.Length, 50, 0.7f));
        var x = Cpu.Upload(Values.Uniform01(rows * features, 51));
        var (numeric, analytic) = StepGradients.Of(model, x, rows);
        // The loss is ~8 nats in float32 (rounding ~1e-6, i.e. ~5e-4 after dividing by 2·eps), smooth but for ReLU kinks
        // that a 1e-3 step seldom crosses.
        Values.AssertGradients(numeric, analytic, Values.Tensors(model.Parameters), 1e-3, "AE parameter gradients");
    }

    [Fact]
    public void ParametersUsePyTorchNamesAndLayout()
    {
        var model = new Autoencoder(Cpu.Backend, 4);
        var shapes = model.Parameters.Entries.ToDictionary(p => p.Name, p => p.Shape);
        Assert.Equal(["encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
                      "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"], shapes.Keys);
        Assert.Equal([256, 784], shapes["encoder.0.weight"]);
        Assert.Equal([32, 256], shapes["encoder.2.weight"]);
        Assert.Equal([784, 256], shapes["decoder.2.weight"]);
        Assert.Equal(784 * 256 * 2 + 256 * 32 * 2 + 256 * 2 + 32 + 784, model.Parameters.Count);
    }

    [Fact]
    public void GlorotInitialisationHasTheKerasLimitAndZeroBiases()
    {
        var model = new Autoencoder(Cpu.Backend, 4);
        model.Initialise(42);
        var values = Cpu.Download(model.Parameters.Values);
        var w = model.Parameters.Entries.Single(p => p.Name == "encoder.0.weight");
        var span = values.AsSpan(w.Offset, w.Length);
        float limit = MathF.Sqrt(6f / (784 + 256));
        Assert.True(span.ToArray().All(v => Math.Abs(v) <= limit));
        Assert.True(span.ToArray().Max() > 0.99f * limit && span.ToArray().Min() < -0.99f * limit);
        var b = model.Parameters.Entries.Single(p => p.Name == "encoder.0.bias");
        Assert.All(values.AsSpan(b.Offset, b.Length).ToArray(), v => Assert.Equal(0f, v));
    }
}
