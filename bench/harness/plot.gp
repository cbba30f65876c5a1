# bench/harness/plot.gp: grouped bars of the server's CPU time per request (HTTP) or per round
# trip (echo), one group per workload, one bar per server family. report.py calls it:
#   gnuplot -e "datafile='plot.dat'; outfile='cpu_per_request.png'" bench/harness/plot.gp
set terminal pngcairo size 1100,520 font "sans,10"
set output outfile
set title "Server CPU time per request / round trip (lower is better), server pinned to one CPU"
set ylabel "µs per request or round trip"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "-"
set key top left
set grid ytics
set yrange [0:*]
set xtics nomirror
plot for [i=2:6] datafile using i:xtic(1) title columnheader(i)
