using GpuAe.Kernels;
using Xunit;

namespace GpuAe.Tests.Kernels;

public class AdamTests
{
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void FirstStepMatchesHandComputedValues(string backend)
    {
        var be = TestBackends.Get(backend);
        // p=1, g=0.5, lr=0.1, β₁=0.9, β₂=0.999, ε=1e-7, t=1, m=v=0:
        // m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, p = 1 − 0.1·0.5/(0.5 + 1e-7) = 0.90000002
        // g=−2: m = −0.2, v = 0.004, m̂ = −2, v̂ = 4, p = 0 + 0.1·2/(2 + 1e-7) = 0.09999999
        var p = be.Up([1f, 0f]); var g = be.Up([0.5f, -2f]); var m = be.Allocate(2); var v = be.Allocate(2);
        be.Adam(p, g, m, v, AdamStep.At(1, 0.1f));
        // 1 − 0.9f is 0.10000002 and 1 − 0.999f is 0.00099998713 in float32: tolerances are a few float32 rounding steps of those.
        Assert.Equal(0.05f, be.Down(m)[0], 1e-6f);
        Assert.Equal(-0.2f, be.Down(m)[1], 1e-6f);
        Assert.Equal(0.00025f, be.Down(v)[0], 1e-8f);
        Assert.Equal(0.004f, be.Down(v)[1], 1e-7f);
        Assert.Equal(0.90000002f, be.Down(p)[0], 1e-7f);
        Assert.Equal(0.09999999f, be.Down(p)[1], 1e-7f);
    }

    /// <summary>Adam with a watch records the first step whose running loss sum is NaN or ∞, keeps it when later steps are
    /// bad too, sets nothing while the sum is finite, and updates the parameters as without a watch.</summary>
    /// <summary>Every backend's Adam is the one float rule, AdamKernels.Apply, bit for bit, on moments, gradients and
    /// parameters of every magnitude: normal, subnormal (a moment whose gradient stays 0 decays into that range), just above
    /// it, and 0, at a step where 1 − β₁ᵗ is below 1 and at one where it rounds to 1, with the notebook's lr and ε and with
    /// lr = 1, ε = 1e-8, and with β₁ = 0.3 (β₁·m can round to −0). The SIMD backend takes vectors holding tiny values
    /// by other paths (its Adam comment says why); mutants there: one rounding of the double path left out (the β₁·m
    /// product's, or the step's before it is subtracted), 1 − β₁ᵗ taken as 1 always, SteadyParameter 0 (a small p left
    /// where the step moves it), the decaying lanes' zero gradient taken with its sign flipped (a product rounding to −0
    /// then stays −0): each fails here. Blocks of 16 ordinary values, which the Vector512 path takes 16 at a time; mutant
    /// there: (1 − β₂)·g·g computed as (1 − β₂)·(g·g) → fails.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void EveryMagnitudeGetsTheFloatRuleBitForBit(string backend)
    {
        var be = TestBackends.Get(backend);
        const int n = 4099; // vectors of every width and a tail
        var rnd = new Random(11);
        float Magnitude(int kind) => kind switch
        {
            0 => 0f,
            1 => BitConverter.Int32BitsToSingle(rnd.Next(1, 0x0080_0000)),                          // subnormal
            2 => BitConverter.Int32BitsToSingle(rnd.Next(0x0080_0000, 0x0D80_0000)),               // normal, below 2⁻¹⁰⁰
            3 => BitConverter.Int32BitsToSingle(rnd.Next(0x1000_0000, 0x2600_0000)),               // about 2⁻⁹⁵ to 2⁻⁵¹
            _ => (float)Math.Exp(-rnd.NextDouble() * 20),                                        // e⁻²⁰ to 1
        };
        float Signed(int kind) => rnd.Next(2) == 0 ? Magnitude(kind) : -Magnitude(kind);
        foreach (var step in new[] { AdamStep.At(3, 1e-3f), AdamStep.At(400, 1e-3f), AdamStep.At(50, 1f, epsilon: 1e-8f), AdamStep.At(7, 1e-3f, beta1: 0.3f) })
        {
            var p = new float[n]; var g = new float[n]; var m = new float[n]; var v = new float[n];
            bool decaying = false, ordinary = false;
            for (int i = 0; i < n; i++)
            {
                if (i % 16 == 0) (decaying, ordinary) = rnd.Next(3) switch { 0 => (true, false), 1 => (false, true), _ => (false, false) };
                if (ordinary)
                {
                    // Every value of the 16 ordinary, as most of a model's are: the AVX-512 path takes them at once.
                    p[i] = Signed(4); g[i] = Signed(4); m[i] = Signed(4);
                }
                else if (decaying)
                {
                    // Moments that merely decay, as a blank pixel's weights have them: g = ±0 wherever m is tiny (the
                    // smallest subnormal now and then, whose β₁·m rounds to ±0 at β₁ = 0.3), and small parameters too.
                    m[i] = rnd.Next(8) == 0 ? (rnd.Next(2) == 0 ? float.Epsilon : -float.Epsilon) : Signed(rnd.Next(5));
                    g[i] = Math.Abs(m[i]) < 7.9e-31f ? (rnd.Next(2) == 0 ? 0f : -0f) : Signed(rnd.Next(2) == 0 ? 0 : 4);
                    p[i] = Signed(rnd.Next(4) == 0 ? rnd.Next(4) : 4);
                }
                else
                {
                    p[i] = Signed(rnd.Next(10) == 0 ? rnd.Next(4) : 4);
                    g[i] = Signed(rnd.Next(5));
                    m[i] = Signed(rnd.Next(5));
                }
                v[i] = Magnitude(ordinary ? 4 : rnd.Next(5));
            }
            var (pd, gd, md, vd) = (be.Up(p), be.Up(g), be.Up(m), be.Up(v));
            be.Adam(pd, gd, md, vd, step);
            for (int i = 0; i < n; i++) AdamKernels.Apply(i, g[i], new ArrayElements<float>(p, 0), new ArrayElements<float>(m, 0), new ArrayElements<float>(v, 0), step);
            foreach (var (name, expected, actual) in new[] { ("m", m, be.Down(md)), ("v", v, be.Down(vd)), ("p", p, be.Down(pd)) })
            {
                int bad = Enumerable.Range(0, n).FirstOrDefault(i => BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]), -1);
                Assert.True(bad < 0, bad < 0 ? "" : $"{name}[{bad}] = {actual[bad]:R}, the float rule gives {expected[bad]:R} (t with 1 − β₁ᵗ = {step.BiasCorrection1}; " +
                    $"p {p[bad]:R}, g {g[bad]:R}, m {m[bad]:R}, v {v[bad]:R} after the step)");
            }
        }
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void WatchFlagsTheFirstStepWhoseLossSumIsNotFinite(string backend)
    {
        var be = TestBackends.Get(backend);
        var sums = be.Up([3f, float.NaN, float.PositiveInfinity]);
        var flag = be.AllocateIndices(1);
        var p = be.Up([1f, 0f]); var g = be.Up([0.5f, -2f]); var m = be.Allocate(2); var v = be.Allocate(2);
        int[] Flag() { var f = new int[1]; be.Download(flag, f); return f; }
        be.Adam(p, g, m, v, AdamStep.At(1, 0.1f), new NonFiniteWatch(sums, 0, flag, 11));
        Assert.Equal(0, Flag()[0]);
        Assert.Equal(0.90000002f, be.Down(p)[0], 1e-7f); // the update itself, as in FirstStepMatchesHandComputedValues
        be.Adam(p, g, m, v, AdamStep.At(2, 0.1f), new NonFiniteWatch(sums, 2, flag, 12)); // ∞
        Assert.Equal(12, Flag()[0]);
        be.Adam(p, g, m, v, AdamStep.At(3, 0.1f), new NonFiniteWatch(sums, 1, flag, 13)); // NaN, later
        Assert.Equal(12, Flag()[0]);
    }

    // More elements than the CPU accelerator has threads (the grid-stride loop); 1003: 125 whole Vec8s of the CPU
    // kernel set's vector path, and 3 elements past them.
    public static IEnumerable<object[]> Sizes => TestBackends.Cross([1000], [1003]);

    /// <summary>Parameters, m and v after six steps in double precision, for any β₁, β₂ and ε.</summary>
    static (double[] P, double[] M, double[] V) Reference(float[] p0, float[][] gradients, double lr, double beta1, double beta2, double epsilon)
    {
        int n = p0.Length;
        var p = p0.Select(x => (double)x).ToArray(); var m = new double[n]; var v = new double[n];
        for (int t = 1; t <= gradients.Length; t++)
            for (int i = 0; i < n; i++)
            {
                double g = gradients[t - 1][i];
                m[i] = beta1 * m[i] + (1 - beta1) * g;
                v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                p[i] -= lr * (m[i] / (1 - Math.Pow(beta1, t))) / (Math.Sqrt(v[i] / (1 - Math.Pow(beta2, t))) + epsilon);
            }
        return (p, m, v);
    }

    /// <summary>Six steps with a different gradient at each (a constant gradient makes the update lr·g/(|g|+ε) whatever
    /// β₁ and β₂ are), half of them as small as ε (so ε matters): parameters, m and v against the double-precision
    /// reference. The check can fail: the same reference with β₂ = 0.99, β₁ = 0.8 or ε = 0 is far outside the tolerance.</summary>
    [Theory, MemberData(nameof(Sizes))]
    public void SixStepsOfVaryingGradientsMatchTheDoubleReference(string backend, int n)
    {
        var be = TestBackends.Get(backend);
        var p0 = Values.Random(n, 31);
        // Every other element gets gradients of the size of ε at every step, the rest of size 1.
        var gradients = Enumerable.Range(0, 6).Select(t => Values.Random(n, 40 + t).Select((g, i) => i % 2 == 0 ? g : 3e-7f * g).ToArray()).ToArray();
        var p = be.Up(p0); var m = be.Allocate(n); var v = be.Allocate(n);
        for (int t = 1; t <= gradients.Length; t++) be.Adam(p, be.Up(gradients[t - 1]), m, v, AdamStep.At(t, 1e-2f));
        var expected = Reference(p0, gradients, 1e-2, 0.9, 0.999, 1e-7);
        // float32 state over six steps: parameters to 2e-6 absolute (lr·steps = 0.06 of movement, float32 ≈ 1e-7 per op);
        // m and v within 5e-5 of their largest entry: 1 − 0.999f is 0.00099998713 in float32, 1.3e-5 off before any rounding.
        static double Worst(double[] e, float[] a) => e.Zip(a, (x, y) => Math.Abs(x - y)).Max();
        var (pd, md, vd) = (be.Down(p), be.Down(m), be.Down(v));
        Assert.True(Worst(expected.P, pd) < 2e-6, $"parameters off by {Worst(expected.P, pd):E2}");
        Assert.True(Worst(expected.M, md) < 5e-5 * expected.M.Max(Math.Abs), $"m off by {Worst(expected.M, md):E2}");
        Assert.True(Worst(expected.V, vd) < 5e-5 * expected.V.Max(Math.Abs), $"v off by {Worst(expected.V, vd):E2}");
        foreach (var (name, other) in new[] { ("β₂ = 0.99", Reference(p0, gradients, 1e-2, 0.9, 0.99, 1e-7)),
                     ("β₁ = 0.8", Reference(p0, gradients, 1e-2, 0.8, 0.999, 1e-7)), ("ε = 0", Reference(p0, gradients, 1e-2, 0.9, 0.999, 0)) })
            Assert.True(Worst(other.P, pd) > 1e-4, $"the tolerance cannot tell the kernel from Adam with {name}");
    }
}
