using GpuAe.Nets.Data;
using GpuAe.Nets.Training;
using ScottPlot;

namespace GpuAe.Nets.Report;

/// <summary>Every figure of the report, drawn with ScottPlot 5 from pixel data and codes.</summary>
public static class Figures
{
    public const int Side = 28;

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

    /// <summary>Rows of images with a label each (top to bottom) and optional column labels.</summary>
    public static void LabelledGrid(string path, IReadOnlyList<float[]> images, string[] rowLabels, string[]? columnLabels, string title, int pixelsPerTile = 64)
    {
        int rows = rowLabels.Length, columns = images.Count / rows;
        var plot = ImageGrid(images, rows, columns, title);
        plot.Axes.Left.SetTicks(Centres(rows, reversed: true), rowLabels);
        if (columnLabels is null) plot.Axes.Bottom.SetTicks([], []);
        else plot.Axes.Bottom.SetTicks(Centres(columns), columnLabels);
        plot.SavePng(path, columns * pixelsPerTile + 220, rows * pixelsPerTile + 140);
    }

    /// <summary>Decoded images on an n×n grid of latent coordinates: z₁ grows to the right, z₂ upwards.</summary>
    public static void Manifold(string path, IReadOnlyList<float[]> imagesTopRowFirst, double[] z1, double[] z2Ascending, string title)
    {
        int n = z1.Length;
        var plot = ImageGrid(imagesTopRowFirst, n, n, title);
        string Format(double v) => (Math.Abs(v) < 0.005 ? 0 : v).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        plot.Axes.Bottom.SetTicks(Centres(n), z1.Select(Format).ToArray());
        plot.Axes.Left.SetTicks(Centres(n), z2Ascending.Select(Format).ToArray());
        plot.XLabel("z₁ = Φ⁻¹(p)");
        plot.YLabel("z₂ = Φ⁻¹(p)");
        plot.SavePng(path, n * 56 + 200, n * 56 + 160);
    }

    static readonly Color[] Palette = new ScottPlot.Palettes.Category10().Colors;

    static Plot ClassScatter(double[] xs, double[] ys, byte[] labels, string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        for (int c = 0; c < FashionMnist.ClassNames.Length; c++)
        {
            var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).ToArray();
            var points = plot.Add.ScatterPoints(idx.Select(i => xs[i]).ToArray(), idx.Select(i => ys[i]).ToArray(), Palette[c % Palette.Length]);
            points.MarkerSize = 3;
            points.LegendText = FashionMnist.ClassNames[c];
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    public static void LatentScatter(string path, double[] xs, double[] ys, byte[] labels, string title) =>
        ClassScatter(xs, ys, labels, title, "μ₁", "μ₂").SavePng(path, 1000, 800);

    /// <summary>One panel of <see cref="ScatterPanels"/>: points coloured by class.</summary>
    public sealed record ScatterPanel(double[] X, double[] Y, string Title, string XLabel, string YLabel);

    /// <summary>Class-coloured scatter plots side by side (the AE's codes by PCA beside the VAEs' μ; one per β).</summary>
    public static void ScatterPanels(string path, IReadOnlyList<ScatterPanel> panels, byte[] labels)
    {
        var multiplot = new Multiplot(); // starts with one empty plot: replace it
        for (int i = 0; i < panels.Count; i++)
        {
            var p = panels[i];
            var plot = ClassScatter(p.X, p.Y, labels, p.Title, p.XLabel, p.YLabel);
            if (i == 0) multiplot.Reset(plot); else multiplot.AddPlot(plot);
        }
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows: 1, columns: panels.Count);
        multiplot.SavePng(path, 900 * panels.Count, 800);
    }

    /// <summary>Rate (KL, nats) against distortion (BCE, nats) of VAEs trained with different β, each point labelled.</summary>
    public static void RateDistortion(string path, IReadOnlyList<(float Beta, double Kl, double Bce)> points)
    {
        var plot = new Plot();
        var ordered = points.OrderBy(p => p.Kl).ToArray();
        var line = plot.Add.Scatter(ordered.Select(p => p.Kl).ToArray(), ordered.Select(p => p.Bce).ToArray(), Palette[0]);
        line.MarkerSize = 9;
        foreach (var p in ordered)
        {
            var label = plot.Add.Text($"β = {p.Beta.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}", p.Kl, p.Bce);
            label.LabelFontSize = 14;
            label.LabelOffsetX = 8;
            label.LabelOffsetY = -18;
        }
        plot.Axes.Margins(0.15, 0.15); // room for the labels of the outermost points
        plot.Title("β-VAE on the test set: rate (KL) against distortion (BCE)");
        plot.XLabel("rate: KL(q(z|x) ‖ N(0, I)), nats per image");
        plot.YLabel("distortion: BCE, nats per image");
        plot.SavePng(path, 1000, 700);
    }

    /// <summary>Train and test loss per epoch for each model.</summary>
    public static void LossCurves(string path, IReadOnlyList<(string Name, IReadOnlyList<EpochMetrics> Epochs)> runs)
    {
        var plot = new Plot();
        int colour = 0;
        foreach (var (name, epochs) in runs)
        {
            var x = epochs.Select(e => (double)e.Epoch).ToArray();
            var train = plot.Add.Scatter(x, epochs.Select(e => e.TrainLoss).ToArray(), Palette[colour]);
            train.LegendText = $"{name} train";
            train.LinePattern = LinePattern.Dashed;
            var test = plot.Add.Scatter(x, epochs.Select(e => e.TestLoss).ToArray(), Palette[colour]);
            test.LegendText = $"{name} test";
            colour++;
        }
        plot.Title("Loss per epoch (nats per image; VAE: BCE + KL)");
        plot.XLabel("epoch");
        plot.YLabel("loss");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 1000, 650);
    }
}
