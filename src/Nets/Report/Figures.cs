using System.Globalization;
using GpuAe.Nets.Data;
using GpuAe.Nets.Training;
using ScottPlot;

namespace GpuAe.Nets.Report;

/// <summary>Every figure of the report, drawn with ScottPlot 5 from pixel data and codes, in the bundled font. No figure
/// is wider than <see cref="MaxWidth"/> pixels.</summary>
public static class Figures
{
    public const int Side = 28, MaxWidth = 1600;

    static Figures() => BundledFont.Use();

    static string N(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Tiles images (each Side×Side, row-major) into one grid of values for a heatmap, one-pixel NaN gaps
    /// between tiles. Tile (r, c) is images[r * columns + c]; row 0 is the top row of the picture.</summary>
    public static double[,] Tile(IReadOnlyList<float[]> images, int rows, int columns)
    {
        int cell = Side + 1;
        var grid = new double[rows * cell - 1, columns * cell - 1];
        for (int y = 0; y < grid.GetLength(0); y++) for (int x = 0; x < grid.GetLength(1); x++) grid[y, x] = double.NaN;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
            {
                var image = images[r * columns + c];
                for (int y = 0; y < Side; y++)
                    for (int x = 0; x < Side; x++)
                        grid[r * cell + y, c * cell + x] = image[y * Side + x];
            }
        return grid;
    }

    /// <summary>A grey-scale image grid whose tile (r, c) spans the unit square [c, c+1] × [rows−r−1, rows−r] of the
    /// axes, so tick labels can name rows and columns.</summary>
    static Plot ImageGrid(IReadOnlyList<float[]> images, int rows, int columns, string title)
    {
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(Tile(images, rows, columns));
        heatmap.Colormap = new ScottPlot.Colormaps.Grayscale();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        heatmap.NaNCellColor = Colors.White;
        heatmap.Extent = new CoordinateRect(0, columns, 0, rows);
        plot.Axes.SetLimits(0, columns, 0, rows);
        plot.Title(title);
        plot.HideGrid();
        return plot;
    }

    static double[] Centres(int count, bool reversed = false) =>
        Enumerable.Range(0, count).Select(i => reversed ? count - i - 0.5 : i + 0.5).ToArray();

    /// <summary>Rows of images with a label each (top to bottom); column labels (optionally slanted) or none at all.</summary>
    public static void LabelledGrid(string path, IReadOnlyList<float[]> images, string[] rowLabels, string[]? columnLabels, string title,
        int pixelsPerTile = 64, bool rotateColumnLabels = false, string? xLabel = null)
    {
        int rows = rowLabels.Length, columns = images.Count / rows;
        var plot = ImageGrid(images, rows, columns, title);
        plot.Axes.Left.SetTicks(Centres(rows, reversed: true), rowLabels);
        int bottom = 60;
        if (columnLabels is null)
        {
            plot.Axes.Bottom.SetTicks([], []);
            plot.Axes.Bottom.MajorTickStyle.Length = 0;
            plot.Axes.Bottom.MinorTickStyle.Length = 0;
        }
        else
        {
            plot.Axes.Bottom.SetTicks(Centres(columns), columnLabels);
            if (rotateColumnLabels)
            {
                plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
                plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
                plot.Axes.Bottom.MinimumSize = 90;
                bottom = 120;
            }
        }
        if (xLabel is not null) { plot.XLabel(xLabel); bottom += 30; }
        int left = 40 + 8 * rowLabels.Max(l => l.Length);
        AtomicFile.Write(path, (string temporary) => plot.SavePng(temporary, Math.Min(MaxWidth, columns * pixelsPerTile + left + 30), rows * pixelsPerTile + bottom + 60));
    }

    /// <summary>Decoded images on an n×n grid of latent coordinates: z₁ grows to the right, z₂ upwards.</summary>
    public static void Manifold(string path, IReadOnlyList<float[]> imagesTopRowFirst, double[] z1, double[] z2Ascending, string title)
    {
        int n = z1.Length;
        var plot = ImageGrid(imagesTopRowFirst, n, n, title);
        string Format(double v) => N(Math.Abs(v) < 0.005 ? 0 : v, "0.00");
        plot.Axes.Bottom.SetTicks(Centres(n), z1.Select(Format).ToArray());
        plot.Axes.Left.SetTicks(Centres(n), z2Ascending.Select(Format).ToArray());
        plot.XLabel("z₁ = Φ⁻¹(p)");
        plot.YLabel("z₂ = Φ⁻¹(p)");
        AtomicFile.Write(path, (string temporary) => plot.SavePng(temporary, n * 56 + 200, n * 56 + 160));
    }

    /// <summary>Ten colours a reader tells apart, the four tops that overlap in latent space (T-shirt/top, Pullover, Coat,
    /// Shirt) in four far-apart hues (blue, green, pink, brown), their neighbours Dress and Trouser in orange and red.
    /// (Pullover green, Coat purple and Shirt olive were hard to tell apart in the 2-D scatters.)</summary>
    public static readonly Color[] ClassColours =
    [
        Color.FromHex("#1f77b4"), // T-shirt/top: blue
        Color.FromHex("#d62728"), // Trouser: red
        Color.FromHex("#2ca02c"), // Pullover: green
        Color.FromHex("#ff7f0e"), // Dress: orange
        Color.FromHex("#e377c2"), // Coat: pink
        Color.FromHex("#bcbd22"), // Sandal: olive
        Color.FromHex("#8c564b"), // Shirt: brown
        Color.FromHex("#7f7f7f"), // Sneaker: grey
        Color.FromHex("#17becf"), // Bag: cyan
        Color.FromHex("#000000"), // Ankle boot: black
    ];

    /// <summary>One panel of <see cref="ScatterPanels"/>: points coloured by class.</summary>
    public sealed record ScatterPanel(double[] X, double[] Y, string Title, string XLabel, string YLabel);

    /// <summary>Points coloured by class, drawn in a random order (in 20 interleaved rounds, so no class is always on
    /// top), equal units on both axes; the legend, when shown, outside the data on the right.</summary>
    static Plot ClassScatter(ScatterPanel p, byte[] labels, bool legend)
    {
        var plot = new Plot();
        const int rounds = 20;
        var order = Enumerable.Range(0, labels.Length).OrderBy(i => Kernels.CounterRandom.Uniform(7, 0x5343_4154_0000_0000UL, (ulong)i)).ToArray();
        for (int round = 0; round < rounds; round++)
        {
            var part = order.Where((_, j) => j % rounds == round).ToArray();
            for (int c = 0; c < FashionMnist.ClassNames.Length; c++)
            {
                var idx = part.Where(i => labels[i] == c).ToArray();
                var points = plot.Add.ScatterPoints(idx.Select(i => p.X[i]).ToArray(), idx.Select(i => p.Y[i]).ToArray(), ClassColours[c].WithAlpha(0.6));
                points.MarkerSize = 3;
            }
        }
        if (legend)
        {
            plot.Legend.ManualItems.AddRange(FashionMnist.ClassNames.Select((name, c) => new LegendItem
            {
                LabelText = name, MarkerShape = MarkerShape.FilledCircle, MarkerSize = 10, MarkerColor = ClassColours[c], LineWidth = 0,
            }));
            plot.ShowLegend(Edge.Right);
        }
        plot.Title(p.Title, size: 14);
        plot.XLabel(p.XLabel);
        plot.YLabel(p.YLabel);
        foreach (var axis in new IAxis[] { plot.Axes.Bottom, plot.Axes.Left })
            if (axis.TickGenerator is ScottPlot.TickGenerators.NumericAutomatic ticks) ticks.TickDensity = 0.4; // about a tick per 100 px
        plot.Axes.SquareUnits();
        return plot;
    }

    /// <summary>Class-coloured scatter panels in a grid of <paramref name="columns"/>, one legend (on the last panel).
    /// With <paramref name="sharedLimits"/> every panel shows the same region, so they compare directly.</summary>
    public static void ScatterPanels(string path, IReadOnlyList<ScatterPanel> panels, byte[] labels, bool sharedLimits, int columns)
    {
        var multiplot = ScatterFigure(panels, labels, sharedLimits, columns);
        int rows = (panels.Count + columns - 1) / columns;
        AtomicFile.Write(path, (string temporary) => multiplot.SavePng(temporary, MaxWidth, rows * 700));
    }

    /// <summary>What <see cref="ScatterPanels"/> draws, before it is drawn (the tests read its data back).</summary>
    internal static Multiplot ScatterFigure(IReadOnlyList<ScatterPanel> panels, byte[] labels, bool sharedLimits, int columns)
    {
        var multiplot = new Multiplot(); // starts with one empty plot: replace it
        const int legendWidth = 125; // the legend's column on the last panel, left empty on the others so all data areas match
        double minX = panels.Min(p => p.X.Min()), maxX = panels.Max(p => p.X.Max()), minY = panels.Min(p => p.Y.Min()), maxY = panels.Max(p => p.Y.Max());
        double padX = 0.04 * (maxX - minX), padY = 0.04 * (maxY - minY);
        for (int i = 0; i < panels.Count; i++)
        {
            var plot = ClassScatter(panels[i], labels, legend: i == panels.Count - 1);
            if (i != panels.Count - 1) plot.Axes.Right.MinimumSize = legendWidth;
            if (sharedLimits) plot.Axes.SetLimits(minX - padX, maxX + padX, minY - padY, maxY + padY);
            if (i == 0) multiplot.Reset(plot); else multiplot.AddPlot(plot);
        }
        int rows = (panels.Count + columns - 1) / columns;
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows: rows, columns: Math.Min(columns, panels.Count));
        return multiplot;
    }

    /// <summary>Rate (KL) against sampled distortion (BCE) of VAEs trained with different β: mean over the seeds with
    /// ± one sd bars on both axes, each point labelled, and dotted lines of equal negative ELBO (distortion + rate = c).</summary>
    public static void RateDistortion(string path, IReadOnlyList<(float Beta, Stat Kl, Stat Bce)> points, int seeds)
    {
        var plot = new Plot();
        static double Sd(Stat s) => double.IsNaN(s.Sd) ? 0 : s.Sd;
        double minR = points.Min(p => p.Kl.Mean - Sd(p.Kl)), maxR = points.Max(p => p.Kl.Mean + Sd(p.Kl));
        double minD = points.Min(p => p.Bce.Mean - Sd(p.Bce)), maxD = points.Max(p => p.Bce.Mean + Sd(p.Bce));
        double padR = Math.Max(0.1 * (maxR - minR), 0.5), padD = Math.Max(0.1 * (maxD - minD), 0.5);
        double x0 = minR - padR, x1 = maxR + padR, y0 = minD - padD, y1 = maxD + padD;
        // Lines of equal −ELBO through the points' range: D = c − R, at round values of c.
        double lowC = points.Min(p => p.Kl.Mean + p.Bce.Mean), highC = points.Max(p => p.Kl.Mean + p.Bce.Mean);
        double step = Math.Max(0.5, Math.Round((highC - lowC + 2) / 4 * 2) / 2);
        for (double c = Math.Floor((lowC - step) / step) * step; c <= highC + 2 * step; c += step)
        {
            var line = plot.Add.Line(x0, c - x0, x1, c - x1);
            line.LineColor = Colors.Gray.WithAlpha(0.6);
            line.LinePattern = LinePattern.Dotted;
            line.LineWidth = 1;
            // Labelled where the line enters the frame at the top, just right of the line and inside the frame, so the
            // text sits between two lines instead of on one or across the frame's edge.
            if (c - y1 > x0 && c - y1 < x1 - 0.15 * (x1 - x0))
            {
                var label = plot.Add.Text($"−ELBO = {N(c, "0.#")}", c - y1, y1);
                label.LabelFontSize = 11;
                label.LabelFontColor = Colors.Gray;
                label.LabelAlignment = Alignment.UpperLeft;
                label.LabelOffsetX = 6;
                label.LabelOffsetY = 4;
            }
        }
        var ordered = points.OrderBy(p => p.Kl.Mean).ToArray();
        var xs = ordered.Select(p => p.Kl.Mean).ToArray(); var ys = ordered.Select(p => p.Bce.Mean).ToArray();
        var curve = plot.Add.Scatter(xs, ys, ClassColours[0]);
        curve.MarkerSize = 9;
        if (seeds > 1)
        {
            double[] kl = [.. ordered.Select(p => p.Kl.Sd)], bce = [.. ordered.Select(p => p.Bce.Sd)];
            var bars = new ScottPlot.Plottables.ErrorBar(xs, ys, kl, kl, bce, bce) { Color = ClassColours[0] }; // x then y, + then −
            plot.Add.Plottable(bars);
        }
        foreach (var p in ordered)
        {
            var label = plot.Add.Text($"β = {Study.Number(p.Beta)}", p.Kl.Mean, p.Bce.Mean);
            label.LabelFontSize = 14;
            label.LabelOffsetX = 10;
            label.LabelOffsetY = -22;
        }
        plot.Axes.SetLimits(x0, x1, y0, y1);
        plot.Title(seeds > 1 ? $"β-VAE (2-D) on the test set: rate against distortion, mean ± sd over {seeds} seeds" : "β-VAE (2-D) on the test set: rate against distortion");
        plot.XLabel("rate: KL(q(z|x) ‖ N(0, I)), nats per image");
        plot.YLabel("distortion: BCE with z ~ q(z|x), nats per image");
        AtomicFile.Write(path, (string temporary) => plot.SavePng(temporary, 1000, 700));
    }

    static readonly LinePattern[] Patterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed];

    /// <summary>Train (dashed, no markers) and test (solid, markers) loss per epoch of each model from epoch 2: the first
    /// epoch's losses, far above the rest, would squeeze the last epochs into a few pixels.</summary>
    public static void LossCurves(string path, IReadOnlyList<(string Name, IReadOnlyList<EpochMetrics> Epochs)> runs)
    {
        var plot = LossCurvesPlot(runs);
        AtomicFile.Write(path, (string temporary) => plot.SavePng(temporary, 1200, 650));
    }

    /// <summary>What <see cref="LossCurves"/> draws, before it is drawn (the tests read its data back).</summary>
    internal static Plot LossCurvesPlot(IReadOnlyList<(string Name, IReadOnlyList<EpochMetrics> Epochs)> runs)
    {
        var plot = new Plot();
        int colour = 0;
        foreach (var (name, all) in runs)
        {
            var epochs = all.Where(e => e.Epoch >= 2).ToList();
            var x = epochs.Select(e => (double)e.Epoch).ToArray();
            var train = plot.Add.Scatter(x, epochs.Select(e => e.TrainLoss).ToArray(), ClassColours[colour]);
            train.LegendText = $"{name}: train";
            train.LinePattern = LinePattern.Dashed;
            train.MarkerSize = 0;
            var test = plot.Add.Scatter(x, epochs.Select(e => e.TestLoss).ToArray(), ClassColours[colour]);
            test.LegendText = $"{name}: test";
            test.MarkerSize = 4;
            test.LineWidth = 2;
            colour++;
        }
        if (plot.Axes.Bottom.TickGenerator is ScottPlot.TickGenerators.NumericAutomatic epochTicks) epochTicks.IntegerTicksOnly = true;
        plot.Title("Train and test loss per epoch, from epoch 2 (AE: BCE; VAE: negative ELBO, the test one sampled)");
        plot.XLabel("epoch");
        plot.YLabel("loss (nats per image)");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>One panel of numbers against the latent width: a title, the y axis's label, the series (name, values per
    /// width) and optionally a dashed horizontal reference line, labelled.</summary>
    public sealed record WidthPanel(string Title, string YLabel, IReadOnlyList<(string Name, Stat[] Values)> Series, (double Value, string Label)? Reference = null);

    /// <summary>Numbers against the latent width (log₂ axis), mean ± sd over the seeds, in panels side by side, each with
    /// its own y axis (so that unlike quantities never share one) and its legend inside the data area.</summary>
    public static void LatentSizes(string path, int[] sizes, IReadOnlyList<WidthPanel> panels, int seeds)
    {
        var multiplot = new Multiplot();
        var xs = sizes.Select(s => Math.Log2(s)).ToArray();
        int colour = 0;
        for (int p = 0; p < panels.Count; p++)
        {
            var panel = panels[p];
            var plot = new Plot();
            foreach (var (name, values) in panel.Series)
            {
                var ys = values.Select(v => v.Mean).ToArray();
                var line = plot.Add.Scatter(xs, ys, ClassColours[colour]);
                line.LegendText = name;
                line.MarkerSize = 8;
                line.LinePattern = Patterns[colour % Patterns.Length];
                if (seeds > 1)
                {
                    var bars = plot.Add.ErrorBar(xs, ys, [.. values.Select(v => double.IsNaN(v.Sd) ? 0 : v.Sd)]);
                    bars.Color = ClassColours[colour];
                }
                colour++;
            }
            if (panel.Reference is { } r)
            {
                var line = plot.Add.HorizontalLine(r.Value);
                line.LinePattern = LinePattern.Dashed;
                line.Color = Colors.Gray;
                line.LegendText = r.Label;
            }
            plot.Axes.Bottom.SetTicks(xs, [.. sizes.Select(s => s.ToString(CultureInfo.InvariantCulture))]);
            plot.Axes.Margins(0.08, 0.12);
            plot.Title(panel.Title, size: 15);
            plot.XLabel("latent width (AE: code; VAE: z), log scale");
            plot.YLabel(panel.YLabel);
            plot.ShowLegend(Alignment.UpperRight);
            if (p == 0) multiplot.Reset(plot); else multiplot.AddPlot(plot);
        }
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows: 1, columns: panels.Count);
        string spread = seeds > 1 ? $"; mean ± sd over {seeds} seeds" : "";
        foreach (var plot in multiplot.GetPlots()) plot.Title(plot.Axes.Title.Label.Text + spread, size: 15);
        AtomicFile.Write(path, (string temporary) => multiplot.SavePng(temporary, Math.Min(MaxWidth, 700 * panels.Count), 600));
    }
}
