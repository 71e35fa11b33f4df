from rarpa.cli import main

main()
