using GpuAe.Kernels;
using GpuAe.Nets.Model;
using GpuAe.Nets;
using GpuAe.Tests.Kernels;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>The convolution and transposed-convolution layers against direct references and central finite
/// differences, and the convolutional models' whole training steps against finite differences.</summary>
public class ConvLayerTests
{
    /// <summary>A transposed convolution from the definition: every input pixel's channels, times the weights, are added
    /// onto the KxK output window its position maps to. x[n, G.OutPixels, inChannels], w[ky, kx, c, inChannels].</summary>
    static double[] DirectTransposedConvolution(float[] x, float[] w, float[] b, ConvGeometry g, int count, int inChannels)
    {
        var y = new double[count * g.InPixels * g.Channels];
        for (int n = 0; n < count; n++)
            for (int i = 0; i < g.InPixels; i++)
                for (int c = 0; c < g.Channels; c++) y[(n * g.InPixels + i) * g.Channels + c] = b[c];
        for (int n = 0; n < count; n++)
            for (int oy = 0; oy < g.OutHeight; oy++)
                for (int ox = 0; ox < g.OutWidth; ox++)
                    for (int ky = 0; ky < g.Kernel; ky++)
                        for (int kx = 0; kx < g.Kernel; kx++)
                        {
                            int py = oy * g.Stride - g.Padding + ky, px = ox * g.Stride - g.Padding + kx;
                            if (py < 0 || py >= g.InHeight || px < 0 || px >= g.InWidth) continue;
                            for (int c = 0; c < g.Channels; c++)
                                for (int s = 0; s < inChannels; s++)
                                    y[((n * g.InHeight + py) * g.InWidth + px) * g.Channels + c] +=
                                        (double)x[((n * g.OutHeight + oy) * g.OutWidth + ox) * inChannels + s] * w[((ky * g.Kernel + kx) * g.Channels + c) * inChannels + s];
                        }
        return y;
    }

    static readonly ConvGeometry Small = new(7, 6, 2, 3, 2, 1); // 7×6×2 ↔ 4×3

    [Fact]
    public void ConvTransposeForwardIsTheDirectTransposedConvolution()
    {
        var be = Cpu.Backend;
        const int count = 2, inChannels = 3;
        var p = new ParameterSet();
        var layer = new ConvTransposeLayer(p, "t", Small, inChannels, Activation.None, be, count);
        p.Allocate(be);
        var values = Values.Random(p.Length, 70);
        be.Upload(p.Values, values);
        var x = Values.Random(count * layer.In, 71);
        var y = be.Allocate(count * layer.Out);
        layer.Forward(be, be.Up(x), y, count);
        var (wEntry, bEntry) = (p.Entries[0], p.Entries[1]);
        var w = values.AsSpan(wEntry.Offset, wEntry.Length).ToArray(); var b = values.AsSpan(bEntry.Offset, bEntry.Length).ToArray();
        Values.AssertClose(DirectTransposedConvolution(x, w, b, Small, count, inChannels), be.Down(y), 1e-5, "transposed convolution");
    }

    /// <summary>L = Σ y ⊙ r for a fixed random r, so dL/dy = r: the layer's backward from r against central differences of
    /// L in every parameter and every input value.</summary>
    static void CheckGradients(IBackend be, Func<ParameterSet, ILayer> create, int count, Activation activation, string what)
    {
        var p = new ParameterSet();
        var layer = create(p);
        p.Allocate(be);
        // Random biases too: keeps ReLU pre-activations off their kink, where central differences mean nothing.
        var parameters = Values.Random(p.Length, 72, 0.5f);
        be.Upload(p.Values, parameters);
        var xHost = Values.Random(count * layer.In, 73);
        var x = be.Up(xHost);
        var r = Values.Random(count * layer.Out, 74);
        var y = be.Allocate(count * layer.Out);
        double Loss()
        {
            layer.Forward(be, x, y, count);
            return be.Down(y).Zip(r, (a, b) => (double)a * b).Sum();
        }
        Loss();
        var dx = be.Allocate(count * layer.In);
        var dy = be.Up(r);
        if (activation == Activation.Relu)
        {
            // The ReLU's own backward belongs to whoever computes dy (the next layer's fused mask): apply it here.
            var yHost = be.Down(y);
            dy = be.Up(r.Select((v, i) => yHost[i] > 0 ? v : 0f).ToArray());
        }
        layer.Backward(be, x, dy, dx, null, count);
        // L is a few units in float32 (rounding ~1e-6, i.e. ~1e-3 over 2·eps): 3e-3 absolute-plus-relative, a small
        // step so that ReLU kinks are seldom crossed.
        // On the GPU-shaped accelerator (each loss a launch of emulated groups) every third element, and the last.
        int every = be is IlgpuBackend { KernelSet: KernelSet.Gpu } ? 3 : 1;
        var numericParameters = FiniteDifferences.Central(be, parameters, p.Values, Loss, 1e-3f, every);
        Values.AssertGradients(numericParameters, be.Down(p.Gradients), Values.Tensors(p), 1e-3, what + ": parameter gradients");
        var numericInput = FiniteDifferences.Central(be, xHost, x, Loss, 1e-3f, every);
        Values.AssertGradients(numericInput, be.Down(dx), [("input", 0, numericInput.Length)], 1e-3, what + ": input gradient");
    }

    public static TheoryData<string, Activation> Cases => new()
    {
        { "cpu", Activation.None }, { "cpu", Activation.Relu }, { "cpu-shared", Activation.Relu }, { "simd512", Activation.Relu }, { "scalar", Activation.None },
    };

    [Theory, MemberData(nameof(Cases))]
    public void ConvolutionGradientsMatchFiniteDifferences(string backend, Activation activation) =>
        CheckGradients(TestBackends.Get(backend), p => new ConvLayer(p, "c", Small, 3, activation, TestBackends.Get(backend), 2), 2, activation, "convolution");

    [Theory, MemberData(nameof(Cases))]
    public void TransposedConvolutionGradientsMatchFiniteDifferences(string backend, Activation activation) =>
        CheckGradients(TestBackends.Get(backend), p => new ConvTransposeLayer(p, "t", Small, 3, activation, TestBackends.Get(backend), 2), 2, activation, "transposed convolution");

    /// <summary>A model of <paramref name="spec"/> with Glorot weights plus random biases (so that the ReLUs'
    /// pre-activations sit away from their kinks), and its parameter values on the host.</summary>
    static (IModel Model, float[] Values) WithRandomBiases(IBackend be, ModelSpec spec, int rows)
    {
        var model = Models.Create(be, spec, rows, 1);
        model.Initialise(7);
        var values = be.Down(model.Parameters.Values);
        var random = new Random(75);
        foreach (var entry in model.Parameters.Entries.Where(e => e.Name.EndsWith(".bias")))
            for (int i = 0; i < entry.Length; i++) values[entry.Offset + i] = (float)(random.NextDouble() - 0.5) * 0.2f;
        be.Upload(model.Parameters.Values, values);
        return (model, values);
    }

    /// <summary>The whole conv-AE and conv-VAE step (two convolutions, two dense layers, two transposed convolutions, the
    /// loss; the VAE's sampling and KL) against central differences, one parameter tensor at a time: the directional
    /// derivative along a random direction in that tensor. Per-element differences drown in float32 rounding here (the
    /// loss is ~550 nats, one ulp 6e-5), a directional derivative moves the loss by far more than that.</summary>
    [Theory, InlineData("conv-ae"), InlineData("conv-vae")]
    public void WholeStepGradientsMatchFiniteDifferences(string kind)
    {
        var be = Cpu.Backend;
        const int rows = 3;
        var (model, values) = WithRandomBiases(be, new ModelSpec(kind), rows);
        var x = be.Up(Values.Uniform01(rows * 784, 76));
        var acc = be.Allocate((int)Slot.Count);
        double BatchLoss(float[] parameters)
        {
            be.Upload(model.Parameters.Values, parameters);
            be.Fill(acc, 0f);
            model.TrainStep(x, rows, 1, acc);
            return be.Down(acc)[(int)Slot.TrainLoss] / rows;
        }
        BatchLoss(values);
        var analytic = be.Down(model.Parameters.Gradients);
        const float eps = 1e-3f;
        foreach (var entry in model.Parameters.Entries)
        {
            var direction = Values.Random(entry.Length, 77 + entry.Offset);
            double expected = 0;
            for (int i = 0; i < entry.Length; i++) expected += (double)analytic[entry.Offset + i] * direction[i];
            float[] Shifted(float by)
            {
                var shifted = (float[])values.Clone();
                for (int i = 0; i < entry.Length; i++) shifted[entry.Offset + i] += by * direction[i];
                return shifted;
            }
            double numeric = (BatchLoss(Shifted(eps)) - BatchLoss(Shifted(-eps))) / (2 * eps);
            // Rounding of the loss (6e-5) over 2·eps is ~0.03; ReLU kinks crossed by the shift add a little more.
            Assert.True(Math.Abs(numeric - expected) <= 0.1 + 0.02 * Math.Abs(expected),
                $"{kind}: {entry.Name}: finite differences {numeric}, backward {expected}");
        }
    }

    /// <summary>The conv-AE's forward pass written out in float64 from the definitions (NHWC activations; a convolution's
    /// weight [out, ky, kx, in], a transposed one's [ky, kx, out, in], a dense layer's [out, in]), its loss the BCE summed
    /// over pixels and averaged over the images.</summary>
    static double ConvAeLossInDouble(double[] p, IReadOnlyDictionary<string, (int Offset, int Length)> at, double[] x, int rows, int code, bool codeRelu)
    {
        double Relu(double v) => v > 0 ? v : 0;
        double[] Conv(double[] input, string name, int inSide, int inChannels, int outChannels)
        {
            int outSide = inSide / 2;
            var (w, b) = (at[name + ".weight"].Offset, at[name + ".bias"].Offset);
            var y = new double[rows * outSide * outSide * outChannels];
            for (int n = 0; n < rows; n++)
                for (int oy = 0; oy < outSide; oy++)
                    for (int ox = 0; ox < outSide; ox++)
                        for (int o = 0; o < outChannels; o++)
                        {
                            double sum = p[b + o];
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++)
                                {
                                    int iy = 2 * oy + ky - 1, ix = 2 * ox + kx - 1;
                                    if (iy < 0 || iy >= inSide || ix < 0 || ix >= inSide) continue;
                                    for (int c = 0; c < inChannels; c++)
                                        sum += input[((n * inSide + iy) * inSide + ix) * inChannels + c] * p[w + ((o * 3 + ky) * 3 + kx) * inChannels + c];
                                }
                            y[((n * outSide + oy) * outSide + ox) * outChannels + o] = Relu(sum);
                        }
            return y;
        }
        // The adjoint of the convolution above: every input pixel adds its weighted channels onto the 3×3 window it maps to.
        double[] ConvTranspose(double[] input, string name, int inSide, int inChannels, int outChannels, bool relu)
        {
            int outSide = 2 * inSide;
            var (w, b) = (at[name + ".weight"].Offset, at[name + ".bias"].Offset);
            var y = new double[rows * outSide * outSide * outChannels];
            for (int n = 0; n < rows; n++)
                for (int i = 0; i < outSide * outSide; i++)
                    for (int c = 0; c < outChannels; c++) y[(n * outSide * outSide + i) * outChannels + c] = p[b + c];
            for (int n = 0; n < rows; n++)
                for (int iy = 0; iy < inSide; iy++)
                    for (int ix = 0; ix < inSide; ix++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int oy = 2 * iy + ky - 1, ox = 2 * ix + kx - 1;
                                if (oy < 0 || oy >= outSide || ox < 0 || ox >= outSide) continue;
                                for (int c = 0; c < outChannels; c++)
                                    for (int s = 0; s < inChannels; s++)
                                        y[((n * outSide + oy) * outSide + ox) * outChannels + c] +=
                                            input[((n * inSide + iy) * inSide + ix) * inChannels + s] * p[w + ((ky * 3 + kx) * outChannels + c) * inChannels + s];
                            }
            return relu ? [.. y.Select(Relu)] : y;
        }
        double[] Dense(double[] input, string name, int inWidth, int outWidth, bool relu)
        {
            var (w, b) = (at[name + ".weight"].Offset, at[name + ".bias"].Offset);
            var y = new double[rows * outWidth];
            for (int n = 0; n < rows; n++)
                for (int o = 0; o < outWidth; o++)
                {
                    double sum = p[b + o];
                    for (int i = 0; i < inWidth; i++) sum += input[n * inWidth + i] * p[w + o * inWidth + i];
                    y[n * outWidth + o] = relu ? Relu(sum) : sum;
                }
            return y;
        }
        var h = Conv(Conv(x, "encoder.0", 28, 1, 32), "encoder.2", 14, 32, 64);
        var z = Dense(h, "encoder.5", 7 * 7 * 64, code, codeRelu);
        var logits = ConvTranspose(ConvTranspose(Dense(z, "decoder.0", code, 7 * 7 * 64, relu: true), "decoder.3", 7, 64, 32, relu: true), "decoder.5", 14, 32, 1, relu: false);
        double loss = 0;
        for (int i = 0; i < logits.Length; i++) loss += Math.Max(logits[i], 0) - logits[i] * x[i] + Math.Log(1 + Math.Exp(-Math.Abs(logits[i])));
        return loss / rows;
    }

    /// <summary>The conv-AE's whole step against a float64 reference of its forward pass: the loss it adds up equals the
    /// reference's, and the gradient of every tensor (the first convolution's included) equals central differences of the
    /// reference with eps = 1e-6 along a random direction in that tensor. In float64 those differences are exact to ~1e-8
    /// and cross no ReLU kink; on the float32 loss (the test below) the first convolution moves the ~1,650-nat sum by
    /// about one ulp over 2·eps, so there it was never checked. The conv-VAE builds the same encoder and decoder
    /// (<see cref="AutoencoderBase"/>), so this is its wiring too. Mutants: the first convolution's weight gradient
    /// zeroed; its bias gradient doubled; the second convolution's input gradient not passed on (the first layer's
    /// gradients zero) → each caught.</summary>
    [Fact]
    public void ConvAeStepMatchesADoublePrecisionReference()
    {
        var be = Cpu.Backend;
        const int rows = 3, code = 6;
        var (model, values) = WithRandomBiases(be, new ModelSpec("conv-ae", Activation.Relu, code), rows);
        var pixels = Values.Uniform01(rows * 784, 76);
        var acc = be.Allocate((int)Slot.Count);
        model.TrainStep(be.Up(pixels), rows, 1, acc);
        var analytic = be.Down(model.Parameters.Gradients);

        var at = model.Parameters.Entries.ToDictionary(e => e.Name, e => (e.Offset, e.Length));
        double[] x = [.. pixels.Select(v => (double)v)], p = [.. values.Select(v => (double)v)];
        double loss = ConvAeLossInDouble(p, at, x, rows, code, codeRelu: true);
        Assert.Equal(loss, be.Down(acc)[(int)Slot.TrainLoss] / rows, loss * 1e-5);
        const double eps = 1e-6;
        foreach (var entry in model.Parameters.Entries)
        {
            var direction = Values.Random(entry.Length, 77 + entry.Offset);
            double expected = 0;
            for (int i = 0; i < entry.Length; i++) expected += (double)analytic[entry.Offset + i] * direction[i];
            double Shifted(double by)
            {
                var shifted = (double[])p.Clone();
                for (int i = 0; i < entry.Length; i++) shifted[entry.Offset + i] += by * direction[i];
                return ConvAeLossInDouble(shifted, at, x, rows, code, codeRelu: true);
            }
            double numeric = (Shifted(eps) - Shifted(-eps)) / (2 * eps);
            Assert.True(Math.Abs(numeric) > 1e-3, $"{entry.Name}: the loss barely moves along the direction ({numeric:E2}): the comparison would say nothing");
            // float32 gradients summed over up to 3·196 positions: ~1e-5 relative; a wrong term is of order 1.
            Assert.True(Math.Abs(numeric - expected) <= 1e-3 * Math.Abs(numeric) + 1e-5, $"conv-ae: {entry.Name}: finite differences {numeric:E6}, backward {expected:E6}");
        }
    }

    [Fact]
    public void ConvModelsNameTheirLayersAsAPyTorchSequentialWould()
    {
        var model = Models.Create(Cpu.Backend, new ModelSpec("conv-vae"), 2, 1);
        var shapes = model.Parameters.Entries.ToDictionary(p => p.Name, p => p.Shape);
        Assert.Equal([32, 3, 3, 1], shapes["encoder.0.weight"]);
        Assert.Equal([64, 3, 3, 32], shapes["encoder.2.weight"]);
        Assert.Equal([4, 7 * 7 * 64], shapes["encoder.5.weight"]);
        Assert.Equal([7 * 7 * 64, 2], shapes["decoder.0.weight"]);
        Assert.Equal([3, 3, 32, 64], shapes["decoder.3.weight"]);
        Assert.Equal([3, 3, 1, 32], shapes["decoder.5.weight"]);
        Assert.Equal(784, model.Features);
    }
}
