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

    /// <summary>A block of 3 columns of rows 5 wide into columns 4..6 of rows 9 wide, for 7 rows: every copied value lands
    /// where the plain loop puts it, and every other value of the destination (its sentinels) is left alone.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void CopyColumnsMovesTheBlockAndNothingElse(string backend)
    {
        var be = TestBackends.Get(backend);
        var source = Values.Random(8 * 5, 43);
        var sentinels = Enumerable.Range(0, 8 * 9).Select(i => -1000f - i).ToArray();
        var destination = be.Up(sentinels);
        var copy = new ColumnCopy(Rows: 7, Columns: 3, SourceWidth: 5, SourceColumn: 1, DestinationWidth: 9, DestinationColumn: 4);
        be.CopyColumns(be.Up(source), destination, copy);
        var expected = (float[])sentinels.Clone();
        for (int r = 0; r < 7; r++)
            for (int c = 0; c < 3; c++)
                expected[r * 9 + 4 + c] = source[r * 5 + 1 + c];
        Assert.Equal(expected, be.Down(destination));
    }

    [Theory]
    [InlineData(2, 3, 5, 3, 9, 0)]   // source columns 3..5 past a row of 5
    [InlineData(2, 3, 5, 0, 9, 7)]   // destination columns 7..9 past a row of 9
    [InlineData(9, 3, 5, 0, 9, 0)]   // 9 rows of 5 from a source of 40 values
    public void CopyColumnsRefusesABlockOutsideTheRows(int rows, int columns, int sourceWidth, int sourceColumn, int destinationWidth, int destinationColumn)
    {
        var be = TestBackends.Get("simd512");
        var e = Assert.Throws<ArgumentException>(() => be.CopyColumns(be.Allocate(8 * 5), be.Allocate(8 * 9),
            new ColumnCopy(rows, columns, sourceWidth, sourceColumn, destinationWidth, destinationColumn)));
        Assert.StartsWith("copy columns:", e.Message);
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

    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void LeakyReluAndItsBackwardMatchReference(string backend)
    {
        var be = TestBackends.Get(backend);
        var x = Values.Random(1001, 44, 3f); var dy = Values.Random(1001, 45);
        x[7] = 0f; // the kink: the slope side, as "x > 0" says
        x[8] = float.NaN; x[9] = -0f;
        var y = be.Allocate(x.Length); var dx = be.Allocate(x.Length);
        be.LeakyRelu(be.Up(x), y, 0.2f);
        be.LeakyReluBackward(be.Up(x), be.Up(dy), dx, 0.2f);
        Assert.Equal(x.Select(v => v > 0 ? v : 0.2f * v), be.Down(y));
        Assert.Equal(x.Zip(dy, (v, g) => v > 0 ? g : 0.2f * g), be.Down(dx));
    }

    /// <summary>The leaky ReLU's backward against central differences of Σ dy·leaky(x), away from the kink at 0.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void LeakyReluBackwardMatchesFiniteDifferences(string backend)
    {
        var be = TestBackends.Get(backend);
        var x = Values.Random(40, 46, 2f).Select(v => v + MathF.CopySign(0.1f, v)).ToArray(); // |x| ≥ 0.1 > eps
        var dy = Values.Random(40, 47);
        var tx = be.Up(x); var y = be.Allocate(40); var dx = be.Allocate(40);
        double Loss() { be.LeakyRelu(tx, y, 0.2f); return be.Down(y).Zip(dy, (a, b) => (double)a * b).Sum(); }
        be.LeakyReluBackward(tx, be.Up(dy), dx, 0.2f);
        var numeric = FiniteDifferences.Central(be, x, tx, Loss, eps: 1e-2f);
        // Piecewise linear: exact but for float32 rounding of the sum / eps ≈ 1e-4.
        Values.AssertClose(numeric, be.Down(dx), 1e-3, "leaky ReLU dx vs finite differences");
    }

    /// <summary>The sigmoid's backward from its output, against the reference and against central differences of
    /// Σ dy·sigmoid(x) taken through the logits.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void SigmoidBackwardMatchesReferenceAndFiniteDifferences(string backend)
    {
        var be = TestBackends.Get(backend);
        var x = Values.Random(60, 48, 4f); var dy = Values.Random(60, 49);
        var tx = be.Up(x); var y = be.Allocate(60); var dx = be.Allocate(60);
        double Loss() { be.Sigmoid(tx, y); return be.Down(y).Zip(dy, (a, b) => (double)a * b).Sum(); }
        Loss();
        be.SigmoidBackward(y, be.Up(dy), dx);
        Assert.Equal(be.Down(y).Zip(dy, (s, g) => g * s * (1f - s)), be.Down(dx)); // the float formula, on every lane
        Values.AssertClose(x.Zip(dy, (v, g) => g * Math.Exp(-v) / Math.Pow(1 + Math.Exp(-v), 2)).ToArray(), be.Down(dx), 1e-6, "sigmoid backward");
        var numeric = FiniteDifferences.Central(be, x, tx, Loss, eps: 1e-2f);
        // O(eps²) truncation ≈ 1e-5 plus float32 rounding of the sum / eps ≈ 1e-4.
        Values.AssertClose(numeric, be.Down(dx), 1e-3, "sigmoid backward vs finite differences");
    }

    /// <summary>y += scale·x over y's length: the tail of x past it is not read, and only y changes.</summary>
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void AddScaledAddsTheWeightedTensor(string backend)
    {
        var be = TestBackends.Get(backend);
        var x = Values.Random(1003, 50); var y = Values.Random(1001, 51);
        var ty = be.Up(y); var tx = be.Up(x);
        be.AddScaled(tx, ty, -0.3f);
        Assert.Equal(y.Select((v, i) => v + -0.3f * x[i]), be.Down(ty));
        Assert.Equal(x, be.Down(tx));
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

/// <summary>A call whose tensors are shorter than its shapes need fails at the backend boundary, naming the operation and
/// the shapes, on every backend (the SIMD backend would otherwise write past its arrays with unsafe code).</summary>
public class ShapeCheckTests
{
    [Theory, MemberData(nameof(TestBackends.All), MemberType = typeof(TestBackends))]
    public void ShortTensorsAreRefusedWithTheOperationAndShapes(string backend)
    {
        var be = TestBackends.Get(backend);
        var e = Assert.Throws<ArgumentException>(() => be.DenseForward(be.Allocate(4 * 10 - 1), be.Allocate(6 * 10), be.Allocate(6), be.Allocate(4 * 6), 4, 10, 6, Activation.Relu));
        Assert.Equal("dense forward: x holds 39 values but 4 rows × 10 → 6 needs 40", e.Message);
        e = Assert.Throws<ArgumentException>(() => be.SigmoidBce(be.Allocate(20), be.Allocate(20), be.Allocate(20), be.Allocate(3), be.Allocate(4), 4, 5, 1f));
        Assert.Contains("sigmoid + BCE: rowBce holds 3 values but 4 rows × 5 needs 4", e.Message);
        var g = new ConvGeometry(8, 8, 2, Kernel: 3, Stride: 2, Padding: 1);
        e = Assert.Throws<ArgumentException>(() => be.Im2Col(be.Allocate(2 * 64 * 2), be.Allocate(2 * g.OutPixels * g.PatchLength - 1), 2, g));
        Assert.StartsWith("im2col: cols holds", e.Message);
        e = Assert.Throws<ArgumentException>(() => be.Reparameterize(be.Allocate(2 * 3 * 2), be.Allocate(2 * 3), be.Allocate(5), 3, 2));
        Assert.Equal("reparameterise: z holds 5 values but 3 rows, latent 2 needs 6", e.Message);
        e = Assert.Throws<ArgumentException>(() => be.Adam(be.Allocate(10), be.Allocate(9), be.Allocate(10), be.Allocate(10), AdamStep.At(1, 1e-3f)));
        Assert.Equal("Adam: gradients holds 9 values but 10 parameters needs 10", e.Message);
    }
}
