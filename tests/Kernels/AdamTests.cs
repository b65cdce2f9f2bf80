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

    [Theory, MemberData(nameof(Sizes))]
    public void ManyStepsMatchTheFormulaOnEveryElement(string backend, int n)
    {
        var be = TestBackends.Get(backend);
        var p0 = Values.Random(n, 31); var g = Values.Random(n, 32);
        var p = be.Up(p0); var tg = be.Up(g); var m = be.Allocate(n); var v = be.Allocate(n);
        var pr = p0.Select(x => (double)x).ToArray(); var mr = new double[n]; var vr = new double[n];
        for (int t = 1; t <= 3; t++)
        {
            be.Adam(p, tg, m, v, AdamStep.At(t, 1e-2f));
            for (int i = 0; i < n; i++)
            {
                mr[i] = 0.9 * mr[i] + 0.1 * g[i];
                vr[i] = 0.999 * vr[i] + 0.001 * g[i] * g[i];
                pr[i] -= 1e-2 * (mr[i] / (1 - Math.Pow(0.9, t))) / (Math.Sqrt(vr[i] / (1 - Math.Pow(0.999, t))) + 1e-7);
            }
        }
        Values.AssertClose(pr, be.Down(p), 1e-6, "parameters after 3 steps");
    }
}
