using GpuAe.Nets.Report;
using GpuAe.Nets.Training;
using ScottPlot;
using ScottPlot.Plottables;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>The figures checked on what they plot, not on their colours: the figure is built as the report builds it,
/// and its plottables' data read back.</summary>
public class FigureDataTests
{
    static (double X, double Y)[] Points(Scatter s) => [.. s.Data.GetScatterPoints().Select(c => (c.X, c.Y))];

    /// <summary>The latent scatters: every point of every panel drawn exactly once, at its own coordinates, in its own
    /// class's colour; with shared limits every panel shows the same region, which holds all the points. Mutants: the
    /// labels read one point off (labels[i + 1]) → caught; a panel drawn with x and y swapped → caught; one round of the
    /// 20 interleaved rounds dropped → caught.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ScatterPanelsDrawEveryPointOnceInItsClassColour(bool shared)
    {
        const int n = 997; // not a multiple of the 20 drawing rounds or of the 10 classes
        var random = new Random(5);
        byte[] labels = [.. Enumerable.Range(0, n).Select(_ => (byte)random.Next(10))];
        Figures.ScatterPanel Panel(double scale, double shift) =>
            new([.. Enumerable.Range(0, n).Select(i => scale * i + shift)], [.. Enumerable.Range(0, n).Select(i => -scale * Math.Sqrt(i) - shift)], "t", "x", "y");
        var panels = new[] { Panel(1, 0), Panel(0.01, 50), Panel(3, -7) };
        var plots = Figures.ScatterFigure(panels, labels, shared, columns: 2).GetPlots();
        Assert.Equal(panels.Length, plots.Length);
        for (int p = 0; p < panels.Length; p++)
        {
            var scatters = plots[p].GetPlottables<Scatter>().ToList();
            Assert.Equal(n, scatters.Sum(s => s.Data.GetScatterPoints().Count));
            for (int c = 0; c < 10; c++)
            {
                var colour = Figures.ClassColours[c];
                var drawn = scatters.Where(s => s.MarkerFillColor.WithAlpha(1) == colour.WithAlpha(1)).SelectMany(Points).OrderBy(q => q.X).ToArray();
                var expected = Enumerable.Range(0, n).Where(i => labels[i] == c).Select(i => (panels[p].X[i], panels[p].Y[i])).ToArray();
                Assert.True(expected.SequenceEqual(drawn), $"panel {p}, class {c}: {drawn.Length} points drawn in its colour, {expected.Length} of its points");
            }
        }
        if (!shared) return;
        var limits = plots.Select(plot => plot.Axes.GetLimits()).ToArray();
        Assert.All(limits, l => Assert.Equal(limits[0], l));
        double minX = panels.Min(q => q.X.Min()), maxX = panels.Max(q => q.X.Max()), minY = panels.Min(q => q.Y.Min()), maxY = panels.Max(q => q.Y.Max());
        Assert.True(limits[0].Left < minX && limits[0].Right > maxX && limits[0].Bottom < minY && limits[0].Top > maxY,
            $"the shared region {limits[0]} does not hold every point ({minX}…{maxX}, {minY}…{maxY})");
        Assert.True(limits[0].Right - limits[0].Left < 1.2 * (maxX - minX), $"the shared region {limits[0]} is much wider than the points");
    }

    /// <summary>The loss curves: per run a train and a test line, from epoch 2 to the last, the values of its
    /// metrics.csv. Mutants: epoch 1 kept → caught; train and test swapped → caught.</summary>
    [Fact]
    public void LossCurvesPlotEachRunsTrainAndTestLossFromEpochTwo()
    {
        static List<EpochMetrics> Run(double start) =>
            [.. Enumerable.Range(1, 6).Select(e => new EpochMetrics(e, 1, start / e, start / e + 3, 0, 0, 0, 0))];
        var runs = new List<(string, IReadOnlyList<EpochMetrics>)> { ("AE", Run(600)), ("VAE", Run(700)) };
        var lines = Figures.LossCurvesPlot(runs).GetPlottables<Scatter>().ToList();
        Assert.Equal(4, lines.Count);
        foreach (var (name, epochs) in runs)
        {
            var train = Assert.Single(lines, l => l.LegendText == $"{name}: train");
            var test = Assert.Single(lines, l => l.LegendText == $"{name}: test");
            Assert.Equal(epochs.Skip(1).Select(e => ((double)e.Epoch, e.TrainLoss)), Points(train));
            Assert.Equal(epochs.Skip(1).Select(e => ((double)e.Epoch, e.TestLoss)), Points(test));
        }
    }
}
