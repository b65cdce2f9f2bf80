using System.Diagnostics;
using GpuAe.Nets.Data;
using GpuAe.Nets.Report;
using ScottPlot;
using SkiaSharp;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>Figures carry their text on machines without fonts: the bundled DejaVu Sans is ScottPlot's default.</summary>
public class FontTests : TempFolderTest
{
    [Fact]
    public void FiguresUseTheBundledDejaVuSans()
    {
        BundledFont.Use();
        Assert.Equal(BundledFont.Name, Fonts.Default);
        var plot = new Plot();
        Assert.Equal(BundledFont.Name, plot.Axes.Title.Label.FontName);
        Assert.Equal(BundledFont.Name, plot.Axes.Bottom.TickLabelStyle.FontName);
        using var regular = Fonts.GetTypeface(BundledFont.Name, bold: false, italic: false);
        using var bold = Fonts.GetTypeface(BundledFont.Name, bold: true, italic: false);
        Assert.Equal("DejaVu Sans", regular.FamilyName);
        Assert.Equal("DejaVu Sans", bold.FamilyName);
        Assert.True(bold.FontWeight > regular.FontWeight, "titles use the bundled bold face");
        // The glyphs the figures need are in it (μ, subscripts, the arrows and signs of the labels).
        foreach (char c in "μσβαΦ₁₂→−±‖·≈") Assert.True(regular.ContainsGlyph(c), $"DejaVu Sans lacks '{c}'");
    }

    /// <summary>`gpuae report` run in a mount namespace whose font folders (every one fontconfig reads) are empty tmpfs mounts (what a GPU server image
    /// without fonts looks like; `unshare -rm` needs no root): the loss figure's title band and its left margin (y label and
    /// tick labels) hold text pixels. Before the bundled font these bands were blank: no system font, no text.</summary>
    [Fact]
    public void FiguresHaveTitleAndTickLabelsWithNoSystemFontInstalled()
    {
        string cli = typeof(GpuAe.Cli.GpuAeCli).Assembly.Location, output = Path.Combine(Folder, "report");
        // Every folder that holds a font fontconfig lists (TeX Live's Latin Modern registers /usr/share/texmf/fonts too),
        // and fontconfig's cache.
        var folders = FontFiles().Select(Path.GetDirectoryName).OfType<string>().Append("/var/cache/fontconfig").Where(Directory.Exists).Distinct();
        string hide = string.Join(" && ", folders.Select(d => $"mount -t tmpfs none '{d}'"));
        string script = $"{hide} && test -z \"$(fc-list 2>/dev/null)\" && exec dotnet {cli} report --models ae,vae --notebook-ae-epochs 1 --epochs 1 --seeds 1 " +
                        $"--latents 2 --betas 1 --limit 500 --test-limit 500 --iwae-k 1 --manifold-n 3 --samples 600 --device simd --data {FashionMnist.ResolveFolder(null)} --classifier {Repository.Classifier} --out {output}";
        var start = new ProcessStartInfo("unshare", ["-rm", "sh", "-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["HOME"] = Folder; // no ~/.fonts or ~/.cache/fontconfig either
        using var process = Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd(), stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"report without fonts failed ({process.ExitCode}): {stderr}{stdout[^Math.Min(500, stdout.Length)..]}");

        var (title, margin) = TextOutsideTheFrame(Path.Combine(output, StudyFigures.LossCurvesPng));
        Assert.True(title > 100, $"no title text above the plot frame ({title} dark pixels)");
        Assert.True(margin > 100, $"no y label or tick labels left of the plot frame ({margin} dark pixels)");
    }

    /// <summary>The files of the fonts fontconfig lists (fc-list), none if it is not installed.</summary>
    static string[] FontFiles()
    {
        try
        {
            using var fcList = Process.Start(new ProcessStartInfo("fc-list", ["-f", "%{file}\\n"]) { RedirectStandardOutput = true })!;
            string files = fcList.StandardOutput.ReadToEnd();
            fcList.WaitForExit();
            return files.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (System.ComponentModel.Win32Exception) { return []; }
    }

    /// <summary>Dark pixels above the plot frame (the title band) and left of it, beyond the tick marks (the y label and the
    /// tick labels). The frame is found as the first row and column that are dark over more than half the figure, so a
    /// figure without text (the frame then sits near the edge) scores 0 on both.</summary>
    internal static (int Title, int Margin) TextOutsideTheFrame(string png)
    {
        using var bitmap = SKBitmap.Decode(png);
        bool IsDark(int x, int y) { var p = bitmap.GetPixel(x, y); return p.Red + p.Green + p.Blue < 3 * 128; }
        int frameTop = Enumerable.Range(0, bitmap.Height).First(y => Enumerable.Range(0, bitmap.Width).Count(x => IsDark(x, y)) > bitmap.Width / 2);
        int frameLeft = Enumerable.Range(0, bitmap.Width).First(x => Enumerable.Range(0, bitmap.Height).Count(y => IsDark(x, y)) > bitmap.Height / 2);
        int Count(int x0, int x1, int y0, int y1) =>
            Enumerable.Range(y0, Math.Max(0, y1 - y0)).Sum(y => Enumerable.Range(x0, Math.Max(0, x1 - x0)).Count(x => IsDark(x, y)));
        const int tickMarks = 8; // major tick marks reach this far out of the frame
        return (Count(0, bitmap.Width, 0, frameTop - 2), Count(0, frameLeft - tickMarks, frameTop, bitmap.Height));
    }
}
