using GpuAe.Kernels;
using Xunit;

namespace GpuAe.Tests.Kernels;

public class RowsTests
{
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void GatherRowsCopiesTheRowsNamedByTheOrder(string backend)
    {
        var be = TestBackends.Get(backend);
        const int count = 10, cols = 7;
        var data = Values.Random(count * cols, 41);
        int[] order = [9, 3, 3, 0, 5, 1, 2, 4, 6, 8];
        var indices = be.AllocateIndices(count);
        be.Upload(indices, order);
        var batch = be.Allocate(4 * cols);
        be.GatherRows(be.Up(data), indices, 2, 3, cols, batch); // rows 3, 0, 5; the 4th row stays untouched
        var expected = new float[4 * cols];
        int r = 0;
        foreach (int source in new[] { 3, 0, 5 }) data.AsSpan(source * cols, cols).CopyTo(expected.AsSpan(cols * r++));
        Assert.Equal(expected, be.Down(batch));
    }

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void SigmoidAndFillMatchReference(string backend)
    {
        var be = TestBackends.Get(backend);
        var x = Values.Random(1001, 42, 10f);
        var y = be.Allocate(x.Length);
        be.Sigmoid(be.Up(x), y);
        Values.AssertClose(x.Select(v => 1 / (1 + Math.Exp(-v))).ToArray(), be.Down(y), 1e-6, "sigmoid");
        be.Fill(y, 2.5f);
        Assert.All(be.Down(y), v => Assert.Equal(2.5f, v));
    }

    [Fact]
    public void CounterRandomIsUniformAndReproducible()
    {
        const int n = 100_000;
        double sum = 0, sumSq = 0;
        for (ulong i = 0; i < n; i++)
        {
            double u = CounterRandom.Uniform(7, 1, i);
            Assert.InRange(u, double.Epsilon, 1 - 1e-9);
            sum += u; sumSq += u * u;
        }
        // Mean 1/2 and variance 1/12: standard errors are 0.0009 and 0.0003; 5σ bounds.
        Assert.InRange(sum / n, 0.5 - 0.0046, 0.5 + 0.0046);
        Assert.InRange(sumSq / n - Math.Pow(sum / n, 2), 1 / 12.0 - 0.0015, 1 / 12.0 + 0.0015);
        Assert.Equal(CounterRandom.Hash(1, 2, 3), CounterRandom.Hash(1, 2, 3));
        Assert.NotEqual(CounterRandom.Hash(1, 2, 3), CounterRandom.Hash(1, 3, 3));
    }
}
